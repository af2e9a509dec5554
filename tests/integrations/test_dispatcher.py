from __future__ import annotations

import pytest

from integrations import dispatcher
from integrations.dispatcher import dispatch_syncs


@pytest.fixture
def clean_registry():
    saved = dict(dispatcher._fanouts)
    dispatcher._fanouts.clear()
    yield
    dispatcher._fanouts.clear()
    dispatcher._fanouts.update(saved)


def test_the_dispatcher_runs_every_registered_sync(clean_registry):
    calls = []
    dispatcher.register_sync("mail", lambda: calls.append("mail") or 3)
    dispatcher.register_sync("crm", lambda: calls.append("crm") or 1)
    assert dispatch_syncs.delay().get() == {"mail": 3, "crm": 1}
    assert sorted(calls) == ["crm", "mail"]


def test_one_failing_sync_does_not_stop_the_others(clean_registry, caplog):
    def broken() -> int:
        raise RuntimeError("boom")

    dispatcher.register_sync("broken", broken)
    dispatcher.register_sync("fine", lambda: 2)
    assert dispatcher.dispatch_all() == {"broken": -1, "fine": 2}
    assert "sync.dispatch_failed" in caplog.text
