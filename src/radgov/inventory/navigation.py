from radgov.web.navigation import Item

ITEMS = [
    Item("Inventory", "inventory:products"),
    Item("Deployments", "inventory:deployments"),
    Item("Vendor companies", "inventory:companies"),
]
