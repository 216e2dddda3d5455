from django.urls import path

from radgov.exams import views

app_name = "exams"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("<int:pk>/", views.study, name="study"),
]
