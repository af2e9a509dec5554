"""Hooks other apps connect to without the org core knowing them."""

from django.dispatch import Signal

# Sent by ``user_delete`` inside its transaction, before the user row is deleted, with
# ``user`` and ``actor``. Integrations connect here to revoke and remove the user's
# connections (A6); a receiver that raises aborts the deletion, so nothing is half-done.
user_deleting = Signal()
