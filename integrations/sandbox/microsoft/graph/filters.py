"""The small ``$filter`` subset the sandbox understands: clauses joined by ``and``, each either
``<property> <eq|ne|ge|gt|le|lt> <literal>`` or ``startswith(<property>,'<text>')``. Literals are
quoted strings, ``true``/``false``/``null``, numbers, or ISO datetimes. Property paths use ``/``
(``from/emailAddress/address``). Anything else is refused, as Graph refuses what a resource does
not support."""

# Reference: https://learn.microsoft.com/en-us/graph/filter-query-parameter

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from integrations.sandbox.microsoft.times import parse

_CLAUSE = re.compile(r"^\s*(?P<prop>[A-Za-z][\w/]*)\s+(?P<op>eq|ne|ge|gt|le|lt)\s+(?P<value>.+?)\s*$", re.I)
_STARTSWITH = re.compile(
    r"^\s*startswith\(\s*(?P<prop>[A-Za-z][\w/]*)\s*,\s*'(?P<value>(?:[^']|'')*)'\s*\)\s*$", re.I
)
_AND = re.compile(r"\s+and\s+", re.I)


class FilterError(ValueError):
    pass


@dataclass(frozen=True)
class Clause:
    prop: str
    op: str  # eq ne ge gt le lt startswith
    value: Any


def parse_filter(text: str, allowed: Iterable[str]) -> list[Clause]:
    known = {name.lower(): name for name in allowed}
    clauses: list[Clause] = []
    for part in _AND.split(text.strip()):
        match = _STARTSWITH.match(part)
        if match:
            prop, op, value = match["prop"], "startswith", match["value"].replace("''", "'")
        else:
            match = _CLAUSE.match(part)
            if not match:
                raise FilterError(f"Invalid filter clause: {part!r}")
            prop, op, value = match["prop"], match["op"].lower(), _literal(match["value"])
        canonical = known.get(prop.lower())
        if canonical is None:
            raise FilterError(f"Unsupported property in filter: {prop}")
        clauses.append(Clause(canonical, op, value))
    return clauses


def _literal(raw: str) -> Any:
    if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
        return raw[1:-1].replace("''", "'")
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    when = parse(raw)
    if when is not None and "-" in raw:
        return when
    try:
        return float(raw) if "." in raw else int(raw)
    except ValueError as exc:
        raise FilterError(f"Invalid literal: {raw}") from exc


def value_at(item: Mapping[str, Any], path: str) -> Any:
    current: Any = item
    for part in path.split("/"):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def matches(item: Mapping[str, Any], clauses: Iterable[Clause]) -> bool:
    return all(_holds(value_at(item, c.prop), c) for c in clauses)


def _holds(actual: Any, clause: Clause) -> bool:
    expected = clause.value
    if clause.op == "startswith":
        return isinstance(actual, str) and actual.lower().startswith(str(expected).lower())
    if hasattr(expected, "tzinfo"):
        actual = parse(actual)
        if actual is None:
            return False
    elif isinstance(expected, str) and isinstance(actual, str):
        actual, expected = actual.lower(), expected.lower()
    if clause.op == "eq":
        return actual == expected
    if clause.op == "ne":
        return actual != expected
    if actual is None or expected is None:
        return False
    try:
        return {
            "ge": actual >= expected,
            "gt": actual > expected,
            "le": actual <= expected,
            "lt": actual < expected,
        }[clause.op]
    except TypeError:
        return False
