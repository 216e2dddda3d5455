from django.urls import path

from radgov.web import views

app_name = "web"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("audit/", views.audit, name="audit"),
]
