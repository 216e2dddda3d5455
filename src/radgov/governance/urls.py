from django.urls import path

from radgov.governance import views
from radgov.governance.conformance import urls as conformance_urls

app_name = "governance"
urlpatterns = [
    path("", views.index, name="index"),
    path("members/add/", views.member_add, name="member_add"),
    path("settings/", views.group_settings, name="group_settings"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("conflicts/declare/", views.conflict_declare, name="conflict_declare"),
    path("requests/", views.requests_page, name="requests"),
    path("requests/<int:request_id>/", views.request_page, name="request"),
    path("requests/<int:request_id>/candidates/", views.candidate_add, name="candidate_add"),
    path("candidates/<int:candidate_id>/score/", views.score, name="score"),
    path("meetings/", views.meetings, name="meetings"),
    path("meetings/<int:meeting_id>/", views.meeting, name="meeting"),
    path("meetings/<int:meeting_id>/notes.pdf", views.meeting_pdf, name="meeting_pdf"),
    path("decisions/<int:decision_id>/vote/", views.vote, name="vote"),
    path("issues/", views.issues, name="issues"),
    path("issues/<int:issue_id>/", views.issue_update, name="issue_update"),
    path("issues/report/", views.report_issue, name="report_issue"),
    path("regulatory/", views.regulatory, name="regulatory"),
    path("regulatory/<int:version_id>/", views.checklist, name="checklist"),
]

# the conformance audit (IV, V): its own package, its pages under /governance/conformance/
urlpatterns += conformance_urls.urlpatterns
