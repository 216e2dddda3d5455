"""The conformance audit's pages, included by ``radgov.governance.urls`` (so their
names are ``governance:conformance_*``)."""

from django.urls import path

from radgov.governance.conformance import views

urlpatterns = [
    path("conformance/", views.page, name="conformance_page"),
    path("conformance/audit.pdf", views.pdf_download, name="conformance_pdf"),
    path("conformance/audit.json", views.json_download, name="conformance_json"),
    path("conformance/failing/", views.failing, name="conformance_failing"),
]
