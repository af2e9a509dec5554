"""The seller's Actions queue URLs (F4: due manual emails, calls and tasks). Part of the ``engage``
namespace (appended to ``engage.urls``). The queue's controls POST the enrolment and step they act
on in the form: the page is one list, and a stale form is answered, not replayed. Writing a manual
email is a page of its own."""

from django.urls import path

from engage.views import actions

urlpatterns = [
    path("app/actions/", actions.actions, name="actions"),
    path("app/actions/call/", actions.action_call, name="action_call"),
    path("app/actions/done/", actions.action_done, name="action_done"),
    path("app/actions/skip/", actions.action_skip, name="action_skip"),
    path("app/actions/snooze/", actions.action_snooze, name="action_snooze"),
    path("app/actions/retry/", actions.action_retry, name="action_retry"),
    path("app/actions/remove/", actions.action_remove, name="action_remove"),
    path("app/actions/<int:enrolment_id>/email/", actions.action_email, name="action_email"),
]
