from radgov.web.navigation import Item

LABEL = "Imaging gateway"

ITEMS = [
    Item("Rejected inputs", "gateway:remediation"),
    Item("DICOM associations", "gateway:associations"),
    Item("Model endpoints", "gateway:endpoints"),
]
