from django.urls import path

from radgov.web import audit, views

app_name = "web"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("audit/", audit.page, name="audit"),
    path("audit/export", audit.export, name="audit_export"),
    path("jobs/<int:job_id>/", views.job, name="job"),
    path("jobs/<int:job_id>/status/", views.job_status, name="job_status"),
    path("jobs/<int:job_id>/result", views.job_result, name="job_result"),
    path("jobs/<int:job_id>/requeue/", views.job_requeue, name="job_requeue"),
]
