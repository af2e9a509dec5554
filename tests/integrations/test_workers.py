"""Lease owners name their host and process, so a run killed with kill -9 is taken over at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from integrations.workers import owner_is_dead, this_host, worker_owner


def _owner_of(pid: int) -> str:
    return f"mailsync:{this_host()}:{pid}:0123abcd"


def test_a_killed_process_on_this_host_is_dead_and_a_running_one_is_not():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert owner_is_dead(_owner_of(child.pid)) is False
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert owner_is_dead(_owner_of(child.pid)) is True
    finally:
        if child.poll() is None:
            child.kill()


def test_a_killed_child_not_yet_reaped_is_dead():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    os.kill(child.pid, signal.SIGKILL)
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, left a zombie
    try:
        assert owner_is_dead(_owner_of(child.pid)) is True
    finally:
        child.wait()


def test_owners_of_other_hosts_this_process_and_old_formats_are_never_judged_dead():
    assert owner_is_dead(f"mailsync:another-host:{2**22 + 7}:0123abcd") is False
    assert owner_is_dead(worker_owner("mailsync")) is False  # this very process
    assert owner_is_dead("mailsync:0123abcd") is False  # written before host and pid were kept
    assert worker_owner("salesforce-sync").startswith(f"salesforce-sync:{this_host()}:{os.getpid()}:")
