from radgov.web.navigation import Item

ITEMS = [
    Item("My training", "training:mine"),
    Item("Training by model", "training:by_model"),
]
