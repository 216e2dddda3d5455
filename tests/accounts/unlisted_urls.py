"""A test URLconf: the project's URLs and one route that no policy rule lists, as a new
view would be before anyone wrote its rule."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from radgov import urls as root


def reached(request: HttpRequest) -> HttpResponse:
    return HttpResponse("the unlisted view ran")


urlpatterns = [path("unlisted-route/", reached, name="unlisted_route"), *root.urlpatterns]
