from radgov.web.navigation import Item

LABEL = "Privacy"

ITEMS = [Item("De-identification", "compliance:deid_jobs")]
