from radgov.web.navigation import Item

LABEL = "Monitoring"

ITEMS = [Item("Monitoring", "monitoring:overview")]
