from django.urls import path

from radgov.compliance import views

app_name = "compliance"
urlpatterns = [
    path("deid/", views.jobs, name="deid_jobs"),
    path("deid/new/", views.new_job, name="deid_new"),
    path("deid/<int:job_id>/", views.job_detail, name="deid_job"),
    path("deid/<int:job_id>/status/", views.job_status, name="deid_job_status"),
    path("deid/<int:job_id>/report/", views.report, name="deid_report"),
    path("deid/<int:job_id>/report.json", views.report_json, name="deid_report_json"),
    path("deid/<int:job_id>/output.zip", views.output_zip, name="deid_output"),
    path("deid/<int:job_id>/requeue/", views.requeue, name="deid_requeue"),
    path("deid/<int:job_id>/share/", views.share, name="deid_share"),
]
