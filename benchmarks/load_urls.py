"""radgov's URLs plus one minimal view, the baseline of ``bench_load.py``: the same server,
middleware, session and permission policy, and no work of its own."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from radgov import urls as radgov_urls
from radgov.core import policy


def minimal(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


policy.RULES["bench_minimal"] = policy.anyone()
policy.all_rules.cache_clear()
urlpatterns = [path("bench/minimal", minimal, name="bench_minimal"), *radgov_urls.urlpatterns]
