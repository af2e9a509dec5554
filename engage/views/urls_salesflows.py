"""Salesflow pages' URLs (F4): the list, the builder with its steps' editor and preview, the
template library (a flow's enrolments and the Add to Salesflow dialog: ``urls_enrolments.py``).
Part of the ``engage`` namespace (appended to ``engage.urls``)."""

from django.urls import path

from engage.views import salesflows

urlpatterns = [
    path("app/salesflows/", salesflows.salesflow_list, name="salesflows"),
    path("app/salesflows/new/", salesflows.salesflow_create, name="salesflow_create"),
    path("app/salesflows/<int:flow_id>/", salesflows.salesflow_detail, name="salesflow_detail"),
    path("app/salesflows/<int:flow_id>/settings/", salesflows.salesflow_settings, name="salesflow_settings"),
    path("app/salesflows/<int:flow_id>/archive/", salesflows.salesflow_archive, name="salesflow_archive"),
    path("app/salesflows/<int:flow_id>/steps/new/", salesflows.salesflow_step_add, name="salesflow_step_add"),
    path("app/salesflows/steps/<int:step_id>/", salesflows.salesflow_step_edit, name="salesflow_step_edit"),
    path(
        "app/salesflows/steps/<int:step_id>/move/", salesflows.salesflow_step_move, name="salesflow_step_move"
    ),
    path(
        "app/salesflows/steps/<int:step_id>/delete/",
        salesflows.salesflow_step_delete,
        name="salesflow_step_delete",
    ),
    path(
        "app/salesflows/steps/<int:step_id>/preview/",
        salesflows.salesflow_step_preview,
        name="salesflow_step_preview",
    ),
    path("app/salesflows/templates/", salesflows.template_list, name="salesflow_templates"),
    path("app/salesflows/templates/new/", salesflows.template_create, name="salesflow_template_create"),
    path(
        "app/salesflows/templates/<int:template_id>/",
        salesflows.template_edit,
        name="salesflow_template_edit",
    ),
    path(
        "app/salesflows/templates/<int:template_id>/delete/",
        salesflows.template_delete,
        name="salesflow_template_delete",
    ),
]
