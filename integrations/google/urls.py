"""URLs of the Google Workspace connect flows (admin-managed and user-managed)."""

urlpatterns: list = []
