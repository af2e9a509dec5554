"""Enrolment URLs (F4): the Add to Salesflow dialog (from a contact, a selection of the contacts
list, a saved filter), a flow's enrolments and their bulk actions. Part of the ``engage``
namespace (appended to ``engage.urls``)."""

urlpatterns: list = []
