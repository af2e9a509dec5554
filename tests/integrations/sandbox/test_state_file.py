"""A sandbox given a state file (``make run``'s) keeps its state across restarts: connections made
before still refresh, records and cursors are still there. Without one (tests) nothing is written."""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from integrations.google import auth as google_auth
from integrations.google.fetch.source import mailbox_client
from integrations.salesforce import auth as salesforce_auth
from integrations.salesforce.client import SalesforceClient
from integrations.sandbox.control import SandboxControl
from integrations.sandbox.google import contacts as contacts_module
from integrations.sandbox.google import control as google
from integrations.sandbox.google import mailbox as mailbox_module
from integrations.sandbox.google.demo import DEMO_CUSTOMER_ID, google_store
from integrations.sandbox.google.sequences import IdSequence
from integrations.sandbox.salesforce.demo import salesforce_store
from integrations.sandbox.server import create_sandbox, start_sandbox
from integrations.sandbox.state import SandboxState
from integrations.sandbox.state_file import FORMAT_VERSION, StateFile, StateSaver
from integrations.sync.source import MailboxRef
from tests.factories import UserFactory
from tests.fixtures.sandbox import RunningSandbox
from tests.integrations.google.conftest import own_connection
from tests.integrations.salesforce.conftest import sandbox_connection

ROOT = Path(__file__).resolve().parents[3]
SELLER1 = "seller1@demo.example"


class Restartable:
    """A sandbox with a state file that a test stops and starts again, on the same port: the URLs
    Cadence stored (instance URL, token endpoints) stay right, as with ``make run``'s fixed port."""

    def __init__(self, directory: Path, settings: Any) -> None:
        self.cert_dir = directory / "certs"
        self.state_file = directory / "state.pickle"
        self.current: RunningSandbox | None = None
        self._settings = settings
        self._port = 0

    def start(self) -> RunningSandbox:
        server = start_sandbox("127.0.0.1", self._port, self.cert_dir, state_file=self.state_file)
        self._port = server.port
        self.current = RunningSandbox(
            url=server.url,
            ca_path=str(server.ca_path),
            control=SandboxControl(server.url, server.ca_path),
            server=server,
        )
        for name, value in self.current.provider_settings().items():
            setattr(self._settings, name, value)
        return self.current

    def restart(self) -> RunningSandbox:
        self.stop()
        return self.start()

    def stop(self) -> None:
        if self.current is not None:
            self.current.server.stop()
            self.current = None


@pytest.fixture
def sandboxes(tmp_path: Path, settings: Any) -> Iterator[Restartable]:
    restartable = Restartable(tmp_path, settings)
    yield restartable
    restartable.stop()


def saved_state(path: Path) -> SandboxState:
    state = SandboxState()
    assert StateFile(path).load(state), f"{path} did not load"
    return state


# --- Across a restart ---------------------------------------------------------------------------


def test_a_salesforce_connection_its_records_and_an_open_cursor_survive_a_restart(sandboxes, acme, owner):
    sandboxes.start()
    connection = sandbox_connection(sandboxes.current, acme, owner)
    with SalesforceClient(connection) as client:
        lead_id = client.create("Lead", {"LastName": "Lovelace", "Company": "Analytical Engines"})
    paging = SalesforceClient(connection)
    pages = paging.query_pages("SELECT Id FROM Lead ORDER BY Id", batch_size=200)
    first_page = next(pages)

    sandboxes.restart()

    salesforce_auth.refresh_access_token(connection)  # raises if the refresh token is unknown
    second_page = next(pages)  # the nextRecordsUrl handed out before the restart
    paging.close()
    assert len(second_page) == 200
    assert not {r["Id"] for r in first_page} & {r["Id"] for r in second_page}
    with SalesforceClient(connection) as client:
        assert client.get("Lead", lead_id)["LastName"] == "Lovelace"


def test_a_google_connection_and_its_gmail_history_id_survive_a_restart(sandboxes, acme):
    sandbox = sandboxes.start()
    seller = UserFactory(organization=acme, email=SELLER1)
    connection = own_connection(sandbox, seller)
    mailbox = MailboxRef(user_id=seller.pk, address=SELLER1)
    history_id = mailbox_client(connection=connection, mailbox=mailbox, kind="email").gmail_profile()[
        "historyId"
    ]
    google.add_messages(
        sandbox.control,
        [{"mailbox": SELLER1, "from": "Ann <ann@customer.example>", "to": [SELLER1], "subject": "Pricing"}],
    )

    sandboxes.restart()

    google_auth.refresh_access_token(connection)  # raises if the refresh token is unknown
    client = mailbox_client(connection=connection, mailbox=mailbox, kind="email")
    history = client.gmail_history_list(start_history_id=history_id)  # CursorExpired on a 404
    added = [m["message"]["id"] for h in history.get("history", []) for m in h.get("messagesAdded", [])]
    assert len(added) == 1
    headers = client.gmail_messages_get(added)[added[0]]["payload"]["headers"]
    assert {"name": "Subject", "value": "Pricing"} in headers


def test_gmail_and_contact_ids_made_after_a_restart_never_repeat_saved_ones(sandboxes, monkeypatch):
    sandbox = sandboxes.start()
    google.seed(
        sandbox.control,
        {"contacts": [{"owner": SELLER1, "name": "Ann Lee", "email": "ann@x.example", "group": "Customers"}]},
    )
    with sandbox.state.lock:
        store = google_store(sandbox.state)
        messages_before = set(store.mailbox(SELLER1).messages)
        contacts_before = set(store.contact_book(SELLER1).contacts)
        groups_before = set(store.contact_book(SELLER1).groups)
    # A new process starts its id sequences again, below ids the saved state holds.
    first_message = min(int(message_id, 16) for message_id in messages_before)
    # The new group takes first_contact, the new contact the number of the first saved one.
    first_contact = min(int(contact_id[1:]) for contact_id in contacts_before) - 1
    monkeypatch.setattr(mailbox_module, "_MESSAGE_IDS", IdSequence(first_message))
    monkeypatch.setattr(contacts_module, "_NUMBERS", IdSequence(first_contact))

    sandbox = sandboxes.restart()
    google.add_messages(sandbox.control, [{"mailbox": SELLER1, "from": "ann@x.example", "subject": "Hi"}])
    google.seed(
        sandbox.control,
        {"contacts": [{"owner": SELLER1, "name": "Bo Li", "email": "bo@x.example", "group": "Partners"}]},
    )

    with sandbox.state.lock:
        store = google_store(sandbox.state)
        assert len(store.mailbox(SELLER1).messages) == len(messages_before) + 1
        assert len(store.contact_book(SELLER1).contacts) == len(contacts_before) + 1
        assert len(store.contact_book(SELLER1).groups) == len(groups_before) + 1


def test_the_sandbox_clocks_keep_their_offset_from_real_time(sandboxes):
    sandbox = sandboxes.start()
    sandbox.control.seed("google", {"clock": {"advance_seconds": 3600}})
    sandbox.control.seed("salesforce", {"clock": {"advance_seconds": 7200}})

    sandbox = sandboxes.restart()

    with sandbox.state.lock:
        assert google_store(sandbox.state).clock.now() == pytest.approx(time.time() + 3600, abs=5)
        assert salesforce_store(sandbox.state).clock.now() == pytest.approx(time.time() + 7200, abs=5)


def test_cadences_service_account_is_trusted_after_a_restart_once_even_with_a_new_key(sandboxes):
    sandboxes.start()
    sandbox = sandboxes.restart()
    with sandbox.state.lock:
        assert len(google_store(sandbox.state).cadence_service_accounts) == 1  # installed once, not twice
    sandboxes.stop()
    Path(sandbox.google_service_account_path).unlink()  # the next start makes a new key

    sandbox = sandboxes.start()

    info = json.loads(Path(sandbox.google_service_account_path).read_text())
    with sandbox.state.lock:
        store = google_store(sandbox.state)
        assert info["client_id"] in store.customers[DEMO_CUSTOMER_ID].dwd
        assert list(store.service_accounts[info["client_email"]].keys) == [info["private_key_id"]]


# --- Saving and loading -------------------------------------------------------------------------


def test_the_saver_writes_only_after_a_change(sandboxes, tmp_path):
    sandbox = sandboxes.start()
    copy = tmp_path / "copy.pickle"
    saver = StateSaver(sandbox.state, StateFile(copy))  # not started: its ticks are called here
    assert saver.save_if_changed() is False and not copy.exists()

    sandbox.control.seed("salesforce", {"records": {"Lead": [{"LastName": "Hopper", "Company": "Navy"}]}})

    assert saver.save_if_changed() is True
    assert saver.save_if_changed() is False
    leads = salesforce_store(saved_state(copy)).records["Lead"].values()
    assert any(lead["LastName"] == "Hopper" for lead in leads)
    assert (copy.stat().st_mode & 0o777) == 0o600


def test_fresh_ignores_the_saved_state_and_replaces_it(sandboxes):
    sandbox = sandboxes.start()
    sandbox.control.seed("salesforce", {"records": {"Lead": [{"LastName": "Hopper", "Company": "Navy"}]}})
    sandboxes.stop()

    server = create_sandbox(cert_dir=sandboxes.cert_dir, state_file=sandboxes.state_file, fresh=True)
    server.stop()

    for state in (server.state, saved_state(sandboxes.state_file)):
        assert not any(
            lead["LastName"] == "Hopper" for lead in salesforce_store(state).records["Lead"].values()
        )


def _truncated() -> bytes:
    header = pickle.dumps({"format": FORMAT_VERSION, "keys": ["salesforce"]})
    return header + pickle.dumps({"salesforce": {"records": list(range(1000))}})[:40]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"not a pickle at all", id="garbage"),
        pytest.param(_truncated(), id="truncated"),
        pytest.param(
            pickle.dumps({"format": FORMAT_VERSION - 1, "keys": []}) + pickle.dumps({}), id="old-format"
        ),
    ],
)
def test_an_unreadable_state_file_is_set_aside_and_the_sandbox_starts_fresh(sandboxes, caplog, content):
    sandboxes.state_file.parent.mkdir(parents=True, exist_ok=True)
    sandboxes.state_file.write_bytes(content)

    with caplog.at_level(logging.WARNING, logger="integrations.sandbox.state_file"):
        sandbox = sandboxes.start()

    assert sandbox.control.health()["ok"] is True
    assert (sandboxes.state_file.parent / "state.pickle.unreadable").read_bytes() == content
    assert any(r.message == "sandbox.state.unreadable" for r in caplog.records)
    sandboxes.stop()
    assert saved_state(sandboxes.state_file).stores()  # a new, readable file took its place


def test_without_a_state_file_nothing_is_written(tmp_path):
    server = start_sandbox("127.0.0.1", 0, tmp_path / "certs")
    try:
        SandboxControl(server.url, server.ca_path).seed(
            "salesforce", {"records": {"Lead": [{"LastName": "Hopper", "Company": "Navy"}]}}
        )
        before = sorted(p.name for p in tmp_path.rglob("*"))
    finally:
        server.stop()

    assert server.saver is None and server.state_file is None
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert not list(tmp_path.rglob("*.pickle"))


# --- run_sandbox --------------------------------------------------------------------------------


def test_run_sandbox_saves_its_state_when_honcho_stops_it_with_sigterm(tmp_path):
    state_file = tmp_path / "state.pickle"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "SANDBOX_ENABLED": "true",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "manage.py", "run_sandbox", "--port", "0", "--cert-dir", str(tmp_path)]
    process = subprocess.Popen(
        [*command, "--state-file", str(state_file)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = _listening_url(process)
        SandboxControl(url, tmp_path / "ca.pem").seed(
            "salesforce", {"records": {"Lead": [{"LastName": "Hopper", "Company": "Navy"}]}}
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    leads = salesforce_store(saved_state(state_file)).records["Lead"].values()
    assert any(lead["LastName"] == "Hopper" for lead in leads)


def _listening_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Provider sandbox listening on "):
            return line.removeprefix("Provider sandbox listening on ").strip()
    raise AssertionError(f"run_sandbox exited ({process.wait()}) without listening")


def test_requests_on_a_connection_kept_alive_do_not_reach_a_stopped_sandbox(sandboxes):
    sandbox = sandboxes.start()
    http = requests.Session()
    assert http.get(f"{sandbox.url}/_sandbox/health", verify=sandbox.ca_path, timeout=10).ok

    sandboxes.stop()

    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(f"{sandbox.url}/_sandbox/health", verify=sandbox.ca_path, timeout=10)
