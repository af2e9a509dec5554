"""Who holds a lease, and whether that process is gone.

A lease owner (a sync row's ``lease_owner``, a background job's ``worker``) is written as
``<prefix>:<host>:<pid>:<random>``. A run that finds a lease held can ask ``owner_is_dead``: when
the holder ran on this host and its process no longer exists (or is a zombie), it was killed —
a kill -9, an out-of-memory kill, a worker restart — and its work can be taken over at once
instead of waiting for the lease to lapse. Celery redelivers such a run's task straight away
(``task_acks_late`` with ``task_reject_on_worker_lost``), usually to a sibling process on the same
host, so most crashes are recovered in seconds. A holder on another host is never judged dead:
its lease lapses as before (``SourcePolicy.lease_seconds``).

Owners written before this format (no host and pid) are never judged dead either.
"""

from __future__ import annotations

import os
import socket
import uuid
from functools import cache


@cache
def this_host() -> str:
    return socket.gethostname().replace(":", "_") or "localhost"


def worker_owner(prefix: str) -> str:
    """A fresh owner name for one run of this process."""
    return f"{prefix}:{this_host()}:{os.getpid()}:{uuid.uuid4().hex}"


def owner_is_dead(owner: str) -> bool:
    """Whether ``owner`` was written by a process of this host that has ended."""
    parts = owner.split(":")
    if len(parts) != 4 or parts[1] != this_host():
        return False
    try:
        pid = int(parts[2])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    return not _process_alive(pid)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    try:  # a killed child its parent has not reaped yet still answers signal 0
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return True  # no /proc (not Linux): trust the signal
    return state not in ("Z", "X")
