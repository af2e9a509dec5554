"""Which way imports run (ARCHITECTURE.md), checked on every run of the suite.

Every import statement of the product's Python files is read with ``ast`` (module-level and
inside functions alike: a lazy import is still a dependency), and the rules below are checked:

- ``integrations`` knows only copilot's org core: never ``engage`` nor ``copilot.intelligence``.
- copilot's org core (everything in copilot but ``intelligence/`` and the app's wiring: views,
  urls, admin, apps) never imports ``copilot.intelligence``, ``engage`` or ``integrations``.
- ``copilot.intelligence`` never imports ``engage``.
- Product code never imports the provider sandbox (``integrations.sandbox``); the local settings
  reach it through its one settings helper, and the demo seeder and ``run_sandbox`` may use it.
- No module imports itself back through others: no import cycle between product files, and none
  between the parts (copilot core, intelligence, integrations, engage).

A failure names the importing file, the imported module and the rule.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("config", "copilot", "demo", "engage", "integrations")

# Imports that break a rule on purpose, and why.
ALLOWED = {
    ("copilot.models", "copilot.intelligence.models"): (
        "Django registers an app's models from its models module, so copilot's models module names "
        "the intelligence models (the only thing it takes from them)"
    ),
}
# Who may import the sandbox besides the sandbox itself.
SANDBOX_USERS = ("demo", "integrations.management.commands.run_sandbox", "config.settings.local")
COPILOT_WIRING = ("copilot.views", "copilot.urls", "copilot.admin", "copilot.apps")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for top in PRODUCT:
        if not (ROOT / top).is_dir():
            continue
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The product module ``name`` lives in (``a.b.c`` → ``a.b`` when c is a name in a.b)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield f"{node.module}.{alias.name}"


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        for name in _imports(path):
            target = _resolve(name)
            if target and target != module:
                edges[module].add(target)
    return edges


EDGES = _edges()


def _within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _part(module: str) -> str | None:
    """copilot core, intelligence, integrations or engage (None: config, demo, the sandbox)."""
    if _within(module, "integrations.sandbox", "config", "demo"):
        return None
    if _within(module, "copilot.intelligence"):
        return "intelligence"
    for part in ("copilot", "integrations", "engage"):
        if _within(module, part):
            return part
    return None


def _broken(rule) -> list[str]:
    return sorted(
        f"{source} imports {target}"
        for source, targets in EDGES.items()
        for target in targets
        if (source, target) not in ALLOWED and rule(source, target)
    )


def test_the_check_reads_the_product():
    # Guards the reading itself: a check that found no imports would prove nothing.
    assert len(MODULES) > 200
    assert "copilot.models" in EDGES["integrations.models"] or any(
        t.startswith("copilot") for t in EDGES["integrations.models"]
    )
    assert "integrations.records" in EDGES["copilot.intelligence.ingestion.mail"]


def test_integrations_knows_only_the_org_core():
    broken = _broken(lambda s, t: _within(s, "integrations") and _within(t, "engage", "copilot.intelligence"))
    assert not broken, "integrations may use copilot's org core only:\n" + "\n".join(broken)


def test_copilots_core_knows_nothing_above_it():
    def rule(source: str, target: str) -> bool:
        core = _part(source) == "copilot" and not _within(source, *COPILOT_WIRING)
        return core and _within(target, "copilot.intelligence", "engage", "integrations")

    broken = _broken(rule)
    assert not broken, "copilot's org core is the bottom layer:\n" + "\n".join(broken)


def test_intelligence_never_imports_engage():
    broken = _broken(lambda s, t: _within(s, "copilot.intelligence") and _within(t, "engage"))
    assert not broken, "copilot.intelligence is below engage:\n" + "\n".join(broken)


def test_product_code_never_imports_the_sandbox():
    def rule(source: str, target: str) -> bool:
        if not _within(target, "integrations.sandbox") or _within(source, "integrations.sandbox"):
            return False
        return not _within(source, *SANDBOX_USERS)

    broken = _broken(rule)
    assert not broken, "the provider sandbox is reached through settings only:\n" + "\n".join(broken)


def _cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0
    for root in list(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_no_import_cycle_between_files():
    cycles = _cycles(EDGES)
    assert not cycles, "import cycles (each line one circle):\n" + "\n".join(
        " ↔ ".join(sorted(cycle)) for cycle in cycles
    )


def test_no_import_cycle_between_the_parts():
    parts: dict[str, set[str]] = defaultdict(set)
    for source, targets in EDGES.items():
        for target in targets:
            a, b = _part(source), _part(target)
            if (
                a
                and b
                and a != b
                and (source, target) not in ALLOWED
                and not _within(source, *COPILOT_WIRING)
            ):
                parts[a].add(b)
    assert not _cycles(parts), f"the parts import each other: {dict(parts)}"


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [frozenset({"a", "b"})]),
        ({"a": {"b"}, "b": {"c"}}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [frozenset({"a", "b", "c"})]),
    ],
)
def test_the_cycle_finder_finds_circles(edges, expected):
    assert _cycles(edges) == expected
