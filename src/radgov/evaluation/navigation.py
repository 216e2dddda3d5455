from radgov.web.navigation import Item

ITEMS = [Item("Acceptance tests", "evaluation:index")]

# the page of one deployment's acceptance testing, linked from its inventory record (IV.B.2.e)
DEPLOYMENT_ROUTE = "evaluation:deployment"


def deployment_summary(deployment):  # type: ignore[no-untyped-def]
    from radgov.evaluation.selectors import summary

    return summary(deployment)
