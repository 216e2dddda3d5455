from radgov.web.navigation import Item

ITEMS = [Item("De-identification", "compliance:deid_jobs")]
