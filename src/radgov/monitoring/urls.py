from django.urls import path

from radgov.monitoring import event_views, override_views, registry_views, views

app_name = "monitoring"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("deployments/<int:deployment_id>/", views.deployment, name="deployment"),
    path("deployments/<int:deployment_id>/report.pdf", views.report_pdf, name="report_pdf"),
    path(
        "deployments/<int:deployment_id>/registry.<str:fmt>",
        registry_views.registry_export,
        name="registry_export",
    ),
    path("alerts/<int:pk>/close/", views.close_alert, name="close_alert"),
    path("events/", event_views.events_page, name="events"),
    path("events/report/", event_views.report_event, name="report_event"),
    path("events/to-agenda/", event_views.to_agenda, name="events_to_agenda"),
    path("events/<int:pk>/review/", event_views.review_event, name="review_event"),
    path("overrides/", override_views.overrides_page, name="overrides"),
]
