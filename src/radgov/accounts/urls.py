from django.urls import path

from radgov.accounts import views

app_name = "accounts"
urlpatterns = [
    path("users/", views.users, name="users"),
    path("users/<int:user_id>/license/", views.user_license, name="user_license"),
    path("tokens/", views.tokens_page, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
