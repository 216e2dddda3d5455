from radgov.web.navigation import Item

LABEL = "Clinical AI"

ITEMS = [
    Item("AI worklist", "exams:worklist"),
    Item("Results to review", "exams:review_worklist"),
    Item("Release settings", "exams:release_settings"),
]
