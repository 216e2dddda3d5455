from radgov.web.navigation import Item

ITEMS = [
    Item("Governance", "governance:index"),
    Item("Meetings", "governance:meetings"),
    Item("Requests", "governance:requests"),
    Item("Issue queue", "governance:issues"),
    Item("Regulatory", "governance:regulatory"),
    Item("Conformance", "governance:conformance_page"),
    Item("Report an issue", "governance:report_issue"),
]
