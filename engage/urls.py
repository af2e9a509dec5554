from django.urls import path

from engage import views

app_name = "engage"

urlpatterns = [
    path("app/", views.home, name="home"),
    path("app/contacts/", views.contacts, name="contacts"),
    path("app/salesflows/", views.salesflows, name="salesflows"),
    path("app/analytics/", views.analytics, name="analytics"),
    path("app/feed/", views.feed, name="feed"),
    path("app/settings/", views.settings_page, name="settings"),
]
