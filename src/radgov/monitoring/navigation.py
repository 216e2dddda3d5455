from radgov.web.navigation import Item

LABEL = "Monitoring"

ITEMS = [
    Item("Monitoring", "monitoring:overview"),
    Item("AI adverse events", "monitoring:events"),
    Item("How radiologists use the AI", "monitoring:overrides"),
]

# the page of one deployment's monitoring data and performance report, linked from its
# inventory record (IV.B.2.h)
DEPLOYMENT_ROUTE = "monitoring:deployment"


def deployment_summary(deployment):  # type: ignore[no-untyped-def]
    from radgov.monitoring.selectors import summary

    return summary(deployment)
