"""``run_sandbox --then COMMAND`` (how ``make run`` connects Demo Co): the command runs once the
sandbox listens, and its failure is reported without taking the sandbox down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from integrations.sandbox.control import SandboxControl

ROOT = Path(__file__).resolve().parents[3]


def _run(tmp_path: Path, then: str, *, wait_for: str) -> tuple[str, bool]:
    """Start run_sandbox with ``--then``, read its output and errors until ``wait_for`` shows;
    returns what it wrote and whether the sandbox still served after that."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "SANDBOX_ENABLED": "true",
           "PYTHONUNBUFFERED": "1"}  # fmt: skip
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_sandbox",
            "--port",
            "0",
            "--cert-dir",
            str(tmp_path),
            "--state-file",
            "",
            "--then",
            then,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None and process.stderr is not None
        url = ""
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Provider sandbox listening on "):
                url = line.removeprefix("Provider sandbox listening on ").strip()
            if "Quit with CONTROL-C" in line:
                break
        stream = process.stdout if wait_for.startswith("out:") else process.stderr
        for line in stream:
            lines.append(line)
            if wait_for.split(":", 1)[1] in line:
                break
        serving = bool(url) and bool(SandboxControl(url, tmp_path / "ca.pem").health())
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return "".join(lines), serving


def test_the_command_runs_once_the_sandbox_listens(tmp_path):
    out, serving = _run(tmp_path, "check", wait_for="out:System check")

    assert "System check identified no issues" in out
    assert serving


def test_a_failing_command_is_reported_and_the_sandbox_keeps_serving(tmp_path):
    out, serving = _run(tmp_path, "no_such_command", wait_for="err:no_such_command failed")

    assert "no_such_command failed: Unknown command" in out
    assert serving
