from django.urls import path

from radgov.gateway import views

app_name = "gateway"

urlpatterns = [
    path("remediation/", views.queue, name="remediation"),
    path("remediation/<int:pk>/", views.decide, name="remediate"),
    path("associations/", views.association_log, name="associations"),
    path("endpoints/", views.endpoint_list, name="endpoints"),
]
