from radgov.web.navigation import Item

LABEL = "Monitoring"

ITEMS = [
    Item("Monitoring", "monitoring:overview"),
    Item("AI adverse events", "monitoring:events"),
    Item("How radiologists use the AI", "monitoring:overrides"),
]
