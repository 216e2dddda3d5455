from django.urls import path

from radgov.inventory import views

app_name = "inventory"
urlpatterns = [
    path("", views.products, name="products"),
    path("products/new/", views.product_form, name="product_new"),
    path("products/<int:pk>/", views.product, name="product"),
    path("products/<int:pk>/edit/", views.product_form, name="product_edit"),
    path("products/<int:product_id>/versions/new/", views.version_form, name="version_new"),
    path("versions/<int:pk>/", views.version, name="version"),
    path("versions/<int:pk>/edit/", views.version_form, name="version_edit"),
    path("versions/<int:pk>/calculator/", views.calculator, name="calculator"),
    path("versions/<int:pk>/model-card/", views.model_card, name="model_card"),
    path("versions/<int:pk>/model-card.json", views.model_card_json, name="model_card_json"),
    path("versions/<int:version_id>/documents/new/", views.document_form, name="document_new"),
    path("documents/<int:pk>/", views.document, name="document"),
    path("deployments/", views.deployments, name="deployments"),
    path("companies/", views.companies, name="companies"),
    path(
        "companies/<int:pk>/representatives/",
        views.company_representative,
        name="company_representative",
    ),
    path(
        "versions/<int:version_id>/deployments/new/", views.deployment_form, name="deployment_new"
    ),
    path("deployments/<int:pk>/", views.deployment, name="deployment"),
    path("deployments/<int:pk>/edit/", views.deployment_form, name="deployment_edit"),
    path(
        "deployments/<int:pk>/transition/",
        views.deployment_transition,
        name="deployment_transition",
    ),
    path("deployments/<int:pk>/upgrade/", views.deployment_upgrade, name="deployment_upgrade"),
]
