"""What IntegrationsConfig.ready wires: Google's and Microsoft's providers and mailbox adapters,
the mail fan-out and its task."""

from __future__ import annotations

from celery import current_app

from integrations.base import get_provider
from integrations.base import get_source as get_adapter
from integrations.dispatcher import registered_syncs


def test_google_and_microsoft_are_registered_as_providers_and_mailbox_adapters():
    for key in ("google", "microsoft"):
        assert get_provider(key) is not None, key
        assert get_adapter(key) is not None, key


def test_the_mail_fan_out_and_its_task_are_registered():
    assert "mail" in registered_syncs()
    assert "integrations.sync_row" in current_app.tasks
