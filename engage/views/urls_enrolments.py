"""Enrolment URLs (F4): the Add to Salesflow dialog (from a contact, a selection of the contacts
list, a saved filter), a flow's enrolments and their bulk actions. Part of the ``engage``
namespace (appended to ``engage.urls``)."""

from django.urls import path

from engage.views import enrolments

urlpatterns = [
    path("app/salesflows/enrol/", enrolments.enrol, name="salesflow_enrol"),
    path("app/salesflows/enrol/jobs/<int:job_id>/", enrolments.enrol_job, name="salesflow_enrol_job"),
    path("app/salesflows/<int:flow_id>/enrolments/", enrolments.flow_enrolments, name="salesflow_enrolments"),
    path(
        "app/salesflows/<int:flow_id>/enrolments/bulk/",
        enrolments.flow_enrolments_bulk,
        name="salesflow_enrolments_bulk",
    ),
    path("app/enrolments/<int:enrolment_id>/pause/", enrolments.enrolment_pause, name="enrolment_pause"),
    path("app/enrolments/<int:enrolment_id>/resume/", enrolments.enrolment_resume, name="enrolment_resume"),
    path("app/enrolments/<int:enrolment_id>/skip/", enrolments.enrolment_skip, name="enrolment_skip"),
    path("app/enrolments/<int:enrolment_id>/remove/", enrolments.enrolment_remove, name="enrolment_remove"),
]
