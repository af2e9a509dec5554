"""Gmail's per-user quota, respected by the sync (provider-facts A5, issue point 11)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from integrations.exceptions import ProviderThrottled
from integrations.google.fetch.source import GOOGLE_ADAPTER
from integrations.google.limits import GmailQuota, QuotaSetting, units_of
from integrations.sandbox.google import control as google
from tests.integrations.google.conftest import SELLER2, dwd_connection, mailbox


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _quota(setting: str, time: FakeTime, address: str = "a@demo.example") -> GmailQuota:
    return GmailQuota(address, setting=QuotaSetting.parse(setting), clock=time.clock, sleep=time.sleep)


def test_the_setting_reads_units_per_seconds() -> None:
    assert QuotaSetting.parse("15000/60") == QuotaSetting(15000, 60.0)
    assert QuotaSetting.parse("250/1") == QuotaSetting(250, 1.0)
    with pytest.raises(ImproperlyConfigured):
        QuotaSetting.parse("lots")


def test_each_method_costs_its_documented_units() -> None:
    assert (units_of("users.getProfile"), units_of("users.history.list"), units_of("users.messages.get")) == (
        1,
        2,
        5,
    )
    assert units_of("users.messages.send") == 100


def test_a_full_window_waits_briefly_when_room_frees_up_soon(db: Any) -> None:
    time = FakeTime()
    quota = _quota("250/1", time)
    for _ in range(50):
        quota.reserve(5)
    assert time.slept == []

    quota.reserve(5)

    assert len(time.slept) == 1 and 0 < time.slept[0] <= 1.2


def test_a_full_long_window_hands_the_wait_back_to_the_engine(db: Any) -> None:
    time = FakeTime()
    quota = _quota("100/60", time)
    quota.reserve(100)

    with pytest.raises(ProviderThrottled) as refused:
        quota.reserve(5)

    assert 50 < refused.value.retry_after <= 67
    assert time.slept == []


def test_no_sliding_window_ever_holds_more_than_the_quota(db: Any) -> None:
    time = FakeTime()
    quota = _quota("50/1", time)
    spent: list[tuple[float, int]] = []
    for step in range(400):
        time.now += 0.013 * (step % 7)
        quota.reserve(5)
        spent.append((time.now, 5))
        in_window = sum(units for at, units in spent if at > time.now - 1.0)
        assert in_window <= 50


def test_a_slow_call_is_counted_when_it_was_answered(db: Any) -> None:
    time = FakeTime()
    quota = _quota("100/10", time)
    with quota.spend(100):
        time.now += 9.5  # Google may have charged it any time up to now

    time.now += 1.0  # 10.5 s after it was sent, but only 1 s after its answer
    with pytest.raises(ProviderThrottled):
        quota.reserve(5)


def test_workers_share_one_mailboxs_quota_through_the_cache(db: Any) -> None:
    time = FakeTime()
    first, second = _quota("100/60", time), _quota("100/60", time)
    first.reserve(60)

    with pytest.raises(ProviderThrottled):
        second.reserve(60)
    _quota("100/60", time, address="b@demo.example").reserve(60)  # another mailbox has its own


def test_a_sync_under_a_small_quota_never_meets_a_429(
    sandbox: Any, demo_admin: Any, seller2: Any, settings: Any, caplog: Any
) -> None:
    google.generate_mailbox(sandbox.control, SELLER2, count=30, days=10)
    google.set_gmail_quota(sandbox.control, units=250, per_seconds=1)
    settings.GMAIL_USER_QUOTA = "250/1"
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    caplog.set_level(logging.INFO, logger="integrations.google")

    pages = list(GOOGLE_ADAPTER.fetch(
        connection=connection, mailbox=mailbox(seller2), kind="email", cursor="",
        since=timezone.now() - dt.timedelta(days=90),
    ))  # fmt: skip

    assert sum(len(p.records) for p in pages) == len(google.store(sandbox.state).mailbox(SELLER2).messages)
    calls = google.api_calls(sandbox.state, SELLER2)
    assert calls["gmail.users.messages.get"] == sum(len(p.records) for p in pages)  # nothing was refused
    assert all(r["status"] != 429 for r in sandbox.control.requests())
    assert "google.gmail.batch_retry" not in caplog.messages


def test_throttled_batch_parts_are_fetched_again(
    sandbox: Any, demo_admin: Any, seller2: Any, caplog: Any
) -> None:
    google.set_gmail_quota(sandbox.control, units=200, per_seconds=1)  # Cadence believes 15,000/min
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    caplog.set_level(logging.INFO, logger="integrations.google")

    pages = list(GOOGLE_ADAPTER.fetch(
        connection=connection, mailbox=mailbox(seller2), kind="email", cursor="",
        since=timezone.now() - dt.timedelta(days=90),
    ))  # fmt: skip

    assert sum(len(p.records) for p in pages) == len(google.store(sandbox.state).mailbox(SELLER2).messages)
    assert "google.gmail.batch_retry" in caplog.messages
