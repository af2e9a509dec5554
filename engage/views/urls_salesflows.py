"""Salesflow pages' URLs (F4): the list, the builder, a flow's enrolments, the Add to Salesflow
dialog. Part of the ``engage`` namespace (appended to ``engage.urls``)."""

from django.urls import path

from engage.views import workspace

urlpatterns = [
    path("app/salesflows/", workspace.salesflows, name="salesflows"),
]
