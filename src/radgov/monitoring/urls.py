from django.urls import path

from radgov.monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("deployments/<int:pk>/", views.deployment, name="deployment"),
    path("deployments/<int:pk>/report.pdf", views.report_pdf, name="report_pdf"),
    path("alerts/<int:pk>/close/", views.close_alert, name="close_alert"),
]
