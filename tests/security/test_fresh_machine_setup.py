"""`make test` on a fresh machine: scripts/ensure-chromium installs Debian's chromium when it is
missing (as root) or says exactly what to run (otherwise). The machine is simulated: CHROMIUM
points at a path that does not exist and PATH holds only stand-ins for `id` and `apt-get`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ensure-chromium"


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def _run(tmp_path: Path, *, uid: str, apt: bool) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    chromium = tmp_path / "usr-bin" / "chromium"
    calls = tmp_path / "apt-calls.txt"
    _tool(bin_dir, "id", f'echo "{uid}"\n')
    if apt:
        # Debian's package puts the browser at CHROMIUM once installed.
        _tool(
            bin_dir,
            "apt-get",
            f'echo "$*" >> "{calls}"\n'
            f'case "$*" in *install*chromium*) /bin/mkdir -p "{chromium.parent}"; '
            f'printf "#!/bin/sh\\n" > "{chromium}"; /bin/chmod +x "{chromium}";; esac\n',
        )
    result = subprocess.run(
        ["/bin/sh", str(SCRIPT)],
        env={"PATH": str(bin_dir), "CHROMIUM": str(chromium)},
        capture_output=True,
        text=True,
        check=False,
    )
    return result, chromium, calls


def test_it_installs_chromium_when_missing_and_root(tmp_path):
    result, chromium, calls = _run(tmp_path, uid="0", apt=True)

    assert result.returncode == 0, result.stderr
    assert chromium.exists()
    assert calls.read_text().splitlines() == ["update -qq", "install -y -qq chromium"]


def test_it_says_what_to_run_when_missing_and_not_root(tmp_path):
    result, chromium, calls = _run(tmp_path, uid="1000", apt=True)

    assert result.returncode == 1
    assert "sudo sh -c 'apt-get update && apt-get install -y chromium'" in result.stderr
    assert not chromium.exists()
    assert not calls.exists()  # nothing attempted without root


def test_it_fails_plainly_without_apt(tmp_path):
    result, _, _ = _run(tmp_path, uid="0", apt=False)

    assert result.returncode == 1
    assert "no apt-get" in result.stderr


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="checks the real browser's path")
def test_it_does_nothing_when_chromium_is_there(tmp_path):
    result = subprocess.run(
        ["/bin/sh", str(SCRIPT)], env={"PATH": str(tmp_path)}, capture_output=True, text=True, check=False
    )

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_make_test_runs_the_check_before_pytest():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest: install\n", 1)[1].split("\n\n", 1)[0]

    assert recipe.index("scripts/ensure-chromium") < recipe.index("pytest")
