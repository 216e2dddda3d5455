from django.urls import path

from radgov.training import views

app_name = "training"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("procedures/<int:procedure_id>/", views.procedure, name="procedure"),
    path("versions/<int:model_version_id>/attest/", views.attest, name="attest"),
    path("models/", views.by_model, name="by_model"),
    path("procedures/new/", views.procedure_create, name="procedure_create"),
    path("procedures/<int:procedure_id>/edit/", views.procedure_edit, name="procedure_edit"),
    path("records/new/", views.record_new, name="record_new"),
]
