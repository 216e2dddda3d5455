import importlib.util

from django.urls import include, path

from radgov.api import api
from radgov.core.policy import DOMAIN_APPS
from radgov.web import views as web_views

urlpatterns = [
    path("healthz", web_views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("radgov.accounts.urls")),
    path("api/", api.urls),
]
# Each domain app brings its pages (radgov/<app>/urls.py with app_name = "<app>").
urlpatterns += [
    path(f"{app}/", include(f"radgov.{app}.urls"))
    for app in DOMAIN_APPS
    if importlib.util.find_spec(f"radgov.{app}.urls") is not None
]
urlpatterns.append(path("", include("radgov.web.urls")))
