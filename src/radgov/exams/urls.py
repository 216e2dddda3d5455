from django.urls import path

from radgov.exams import review_views, views

app_name = "exams"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("<int:pk>/", views.study, name="study"),
    path("review/", review_views.worklist, name="review_worklist"),
    path("review/<int:pk>/", review_views.result, name="review_result"),
    path("release-settings/", review_views.release_settings, name="release_settings"),
]
