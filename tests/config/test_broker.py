"""A task sent through the configured broker (Redis in CI, the filesystem transport locally) is
run by a real Celery worker process: the same path beat's 5-minute dispatch takes."""

from __future__ import annotations

import time
import uuid

import pytest

from config.celery import app
from tests.config.worker_helpers import real_worker


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_real_worker_runs_the_dispatcher_sent_through_the_broker(tmp_path):
    queue = f"cadence-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    with real_worker(queue, log) as worker:
        task_id = app.send_task("integrations.dispatch_syncs", queue=queue).id
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = log.read_text()
            if f"integrations.dispatch_syncs[{task_id}] succeeded" in text:
                break
            assert worker.poll() is None, f"worker exited early:\n{text}"
            time.sleep(0.5)
        else:
            raise AssertionError(f"the worker never ran the task:\n{log.read_text()}")
