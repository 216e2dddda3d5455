from django.urls import include, path

from radgov.api import api
from radgov.web import views as web_views

urlpatterns = [
    path("healthz", web_views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("radgov.accounts.urls")),
    path("api/", api.urls),
    path("", include("radgov.web.urls")),
]
