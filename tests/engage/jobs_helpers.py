"""Workers for the job take-over tests (engage/jobs.py), as ``integrations.workers`` sees them: the
owner name of a real child process, killed with SIGKILL or still running."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from integrations.workers import this_host


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside a task: nothing below catches it, and the page's
    transaction is rolled back as the database would on a lost connection."""


def _owner(prefix: str, pid: int) -> str:
    return f"{prefix}:{this_host()}:{pid}:{uuid.uuid4().hex}"


def dead_worker(prefix: str) -> str:
    """The owner name of a worker process of this host that was killed with SIGKILL."""
    child = subprocess.Popen(["sleep", "60"])
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    return _owner(prefix, child.pid)


@contextmanager
def live_worker(prefix: str) -> Iterator[str]:
    """The owner name of a worker process of this host that is running."""
    child = subprocess.Popen(["sleep", "60"])
    try:
        yield _owner(prefix, child.pid)
    finally:
        child.kill()
        child.wait()
