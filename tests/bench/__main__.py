"""``make bench``: run every benchmark module and merge its figures into var/bench/results.json.

A benchmark is a module ``tests/bench/bench_<name>.py`` with ``run() -> dict[str, float]``.
Each runs in a fresh interpreter, because each sets up Django against its own database before
``django.setup()``. The results file is one flat JSON object of named numbers; a run replaces the
figures it measured and keeps every other key. Exits non-zero when any benchmark fails.

Every time figure comes with a baseline measured in the same run on the same machine and the ratio
``<figure>_vs_<baseline>_ratio`` (see ``support``); those ratios are printed first, and the run
starts with ``bench_cpu_loop_seconds`` (a fixed pure-Python loop), the yardstick for comparing the
absolute figures of two machines.

    .venv/bin/python -m tests.bench               # all of them
    .venv/bin/python -m tests.bench foundation    # only bench_foundation.py
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.support import LimitsExceeded, cpu_loop_seconds

BENCH_DIR = Path(__file__).resolve().parent
BASE_DIR = BENCH_DIR.parent.parent
RESULTS_PATH = BASE_DIR / "var" / "bench" / "results.json"
CPU_LOOP = "bench_cpu_loop_seconds"


def discover() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(BENCH_DIR)]) if m.name.startswith("bench_"))


def validate(module: str, figures: object) -> dict[str, float]:
    if not isinstance(figures, dict):
        raise TypeError(f"{module}.run() returned {type(figures).__name__}, not a dict")
    for key, value in figures.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{module}.run(): {key!r} = {value!r} is not a named number")
        if not math.isfinite(value):
            raise ValueError(f"{module}.run(): {key!r} = {value!r} is not finite")
    return figures


def merge_results(figures: dict[str, float]) -> None:
    results: dict[str, float] = {}
    if RESULTS_PATH.exists():
        results = json.loads(RESULTS_PATH.read_text())
    results.update(figures)
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS_PATH.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")
    os.replace(tmp, RESULTS_PATH)


def run_child(module: str, out: Path) -> int:
    """Inside the fresh interpreter: run one benchmark and hand its figures to the parent — also
    when it is over its limits (exit 1), so a failing run still shows what it measured."""
    try:
        figures = validate(module, importlib.import_module(f"tests.bench.{module}").run())
    except LimitsExceeded as exc:
        out.write_text(json.dumps(validate(module, exc.figures)))
        print(f"!!! {module} is over its limits: {exc}", flush=True)
        return 1
    out.write_text(json.dumps(figures))
    return 0


def run_module(module: str, timeout: float) -> tuple[dict[str, float] | None, bool]:
    """The module's figures (None when it measured nothing) and whether it passed."""
    print(f"=== {module}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        started = time.monotonic()
        cmd = [sys.executable, "-m", "tests.bench", "--child", module, "--out", str(out)]
        try:
            code = subprocess.run(cmd, cwd=BASE_DIR, timeout=timeout, check=False).returncode
        except subprocess.TimeoutExpired:
            print(f"!!! {module} did not finish within {timeout:.0f}s", flush=True)
            return None, False
        if not out.exists():
            print(f"!!! {module} failed (exit {code})", flush=True)
            return None, False
        figures = json.loads(out.read_text())
    print(f"--- {module}: {len(figures)} figures in {time.monotonic() - started:.1f}s")
    print_figures(figures)
    return figures, code == 0


def is_ratio(key: str) -> bool:
    return key.endswith("_ratio")


def print_figures(figures: dict[str, float]) -> None:
    """The ratios first (what means the same on every machine), then the absolute figures."""
    width = max((len(k) for k in figures), default=0)
    ordered = sorted(figures, key=lambda k: not is_ratio(k))  # stable: each group keeps its order
    for key in ordered:
        print(f"  {key.ljust(width)}  {figures[key]}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all), e.g. foundation")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per benchmark")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return run_child(args.child, args.out)

    available = discover()
    modules = [n if n.startswith("bench_") else f"bench_{n}" for n in args.names] or available
    unknown = sorted(set(modules) - set(available))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(available)})")
    cpu = {CPU_LOOP: round(cpu_loop_seconds(), 3)}
    print(f"{CPU_LOOP}: {cpu[CPU_LOOP]} (10 million additions in pure Python, best of 3)", flush=True)
    merge_results(cpu)
    failed = []
    measured: dict[str, float] = dict(cpu)
    for module in modules:
        figures, passed = run_module(module, args.timeout)
        if not passed:
            failed.append(module)
        if figures is not None:
            merge_results(figures)
            measured.update(figures)
    print("\n=== Summary: ratios to same-run baselines (lower is better), then the absolute figures")
    print_figures(measured)
    print(f"\nResults in {RESULTS_PATH.relative_to(BASE_DIR)}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
