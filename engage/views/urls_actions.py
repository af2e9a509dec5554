"""The seller's Actions queue URLs (F4: due manual emails, calls and tasks). Part of the ``engage``
namespace (appended to ``engage.urls``)."""

urlpatterns: list = []
