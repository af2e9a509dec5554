"""URLs of the Microsoft 365 connect flows (admin consent and user-managed)."""

urlpatterns: list = []
