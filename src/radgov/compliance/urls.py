from django.urls import path

from radgov.compliance import privacy_views, views

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
    path("retention/", privacy_views.retention, name="retention"),
    path("retention/<slug:data_class>/", privacy_views.set_policy, name="retention_set"),
    path("holds/new/", privacy_views.hold_new, name="hold_new"),
    path("holds/<int:hold_id>/release/", privacy_views.hold_release, name="hold_release"),
    path("access-cases/", privacy_views.cases, name="cases"),
    path("access-cases/<int:case_id>/", privacy_views.case, name="case"),
    path("incidents/", privacy_views.incident_list, name="incidents"),
    path("incidents/<int:incident_id>/", privacy_views.incident, name="incident"),
    path("incidents/<int:incident_id>/record.pdf", privacy_views.incident_pdf, name="incident_pdf"),
    path(
        "incidents/from-event/<int:event_id>/",
        privacy_views.incident_from_event,
        name="incident_from_event",
    ),
    path("privacy-notice/", privacy_views.notice, name="notice"),
]
