from django.urls import path

from radgov.evaluation import views

app_name = "evaluation"
urlpatterns = [
    path("", views.index, name="index"),
    path("deployments/<int:deployment_id>/", views.deployment, name="deployment"),
    path("deployments/<int:deployment_id>/protocol/new/", views.protocol_new, name="protocol_new"),
    path("protocols/<int:protocol_id>/", views.protocol, name="protocol"),
    path("protocols/<int:protocol_id>/edit/", views.protocol_edit, name="protocol_edit"),
    path("protocols/<int:protocol_id>/lock/", views.protocol_lock, name="protocol_lock"),
    path("protocols/<int:protocol_id>/yaml/", views.protocol_yaml, name="protocol_yaml"),
    path("protocols/<int:protocol_id>/run/", views.run_new, name="run_new"),
    path("runs/<int:run_id>/", views.run, name="run"),
    path("runs/<int:run_id>/report/", views.run_report, name="run_report"),
    path("runs/<int:run_id>/report.pdf", views.run_pdf, name="run_pdf"),
    path("runs/<int:run_id>/result.json", views.run_json, name="run_json"),
]
