from radgov.web.navigation import Item

LABEL = "Clinical AI"

ITEMS = [
    Item("Rejected inputs", "gateway:remediation"),
    Item("DICOM associations", "gateway:associations"),
]
