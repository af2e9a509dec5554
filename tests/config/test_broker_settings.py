"""Broker settings that match the sync lease: a task whose worker process is killed runs again at
once (acks late + reject on worker lost), and on Redis a message of a worker that died whole comes
back after one dispatch cycle (visibility_timeout), not kombu's default hour.

The real-worker test imports this module into the worker (``--include``) for its one task, which
kills its own process on its first delivery, as an out-of-memory kill or a kill -9 would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import shared_task

from config.celery import app
from tests.config.worker_helpers import real_worker

ROOT = Path(__file__).resolve().parents[2]
FIVE_MINUTES = 300


@shared_task(name="tests.config.killed_once")
def killed_once(marker_dir: str) -> None:
    """First delivery: leave a mark, then die as a kill -9 would. Second: say it ran."""
    first = Path(marker_dir) / "first-delivery"
    if not first.exists():
        first.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    (Path(marker_dir) / "second-delivery").write_text(str(os.getpid()))


def test_tasks_are_acknowledged_late_and_requeued_when_their_process_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    # The settings reach every task of ours (the sync rows', the poll's, the dispatcher's).
    app.loader.import_default_modules()
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    assert "engage.crm_poll_run" in app.tasks and "integrations.dispatch_syncs" in app.tasks
    for task in ours:
        assert task.acks_late and task.reject_on_worker_lost, task.name


def _settings_in_a_fresh_process(broker_url: str, **env: str) -> dict:
    """The Celery app's broker options as a worker started with ``broker_url`` would read them."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    script = (
        "import json; from config.celery import app; "
        "print(json.dumps({'options': app.conf.broker_transport_options, "
        "'connection': app.connection_for_write().transport_options}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "CELERY_BROKER_URL": broker_url,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_on_redis_a_dead_workers_message_comes_back_after_one_dispatch_cycle():
    conf = _settings_in_a_fresh_process("redis://127.0.0.1:6379/0")
    assert conf["options"] == {"visibility_timeout": FIVE_MINUTES}
    assert conf["connection"]["visibility_timeout"] == FIVE_MINUTES  # what kombu's Redis channel reads


def test_the_visibility_timeout_can_be_set_from_the_environment():
    conf = _settings_in_a_fresh_process(
        "rediss://cache.example:6380/0", CELERY_BROKER_VISIBILITY_TIMEOUT="900"
    )
    assert conf["options"]["visibility_timeout"] == 900


def test_the_filesystem_broker_keeps_its_folders_and_has_no_visibility_timeout(tmp_path):
    conf = _settings_in_a_fresh_process("filesystem://", CELERY_BROKER_DIR=str(tmp_path))
    assert conf["options"]["data_folder_in"] == str(tmp_path / "queue")
    assert conf["options"]["polling_interval"] == 0.1
    assert "visibility_timeout" not in conf["options"]


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_task_whose_worker_process_is_killed_runs_again_at_once(tmp_path):
    queue = f"cadence-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    marks = tmp_path / "marks"
    marks.mkdir()
    pool = ("--pool", "prefork", "--concurrency", "1", "--include", __name__)
    with real_worker(queue, log, pool=pool) as worker:
        app.send_task("tests.config.killed_once", kwargs={"marker_dir": str(marks)}, queue=queue)
        # Well under a Redis visibility timeout and the next beat: only a requeue explains a rerun.
        deadline = time.monotonic() + 60
        while not (marks / "second-delivery").exists():
            assert worker.poll() is None, f"worker exited early:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"the killed task never ran again:\n{log.read_text()}"
            time.sleep(0.2)
        assert (marks / "first-delivery").read_text() != (marks / "second-delivery").read_text()
        assert "WorkerLostError" in log.read_text()
