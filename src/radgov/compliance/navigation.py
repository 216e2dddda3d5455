from radgov.web.navigation import Item

LABEL = "Privacy"

ITEMS = [
    Item("De-identification", "compliance:deid_jobs"),
    Item("Retention and holds", "compliance:retention"),
    Item("Unusual access", "compliance:cases"),
    Item("Privacy incidents", "compliance:incidents"),
    Item("Notice of Privacy Practices", "compliance:notice"),
]
