"""A task sent through the configured broker (Redis in CI, the filesystem transport locally) is
run by a real Celery worker process: the same path beat's 5-minute dispatch takes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_real_worker_runs_the_dispatcher_sent_through_the_broker(tmp_path):
    queue = f"cadence-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--queues",
            queue,
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
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
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
