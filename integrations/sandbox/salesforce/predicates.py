"""The WHERE clause's building blocks: comparisons, date-literal ranges and LIKE patterns.

Each returns a predicate over one stored record; ``query.py`` composes them with AND/OR/NOT.
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_comparisonoperators.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from integrations.sandbox.salesforce.schema import TEXT_TYPES, Field
from integrations.sandbox.salesforce.store import Record

Predicate = Callable[[Record], bool]


def folded(target: Field, get: Callable[[Record], Any]) -> Callable[[Record], Any]:
    """Text compares and sorts case-insensitively in SOQL (ids excepted): fold it once, here."""
    if target.type in TEXT_TYPES and target.type not in ("id", "reference"):
        return lambda r: None if (v := get(r)) is None else v.lower()
    return get


FAST_COMPARE: dict[str, Callable[[str, Any], Predicate]] = {
    "=": lambda n, x: lambda r: r.get(n) == x,
    ">": lambda n, x: lambda r: (v := r.get(n)) is not None and v > x,
    "<": lambda n, x: lambda r: (v := r.get(n)) is not None and v < x,
    ">=": lambda n, x: lambda r: (v := r.get(n)) is not None and v >= x,
    "<=": lambda n, x: lambda r: (v := r.get(n)) is not None and v <= x,
}


def compare(op: str, get: Callable[[Record], Any], value: Any) -> Predicate:
    if value is None:
        if op == "=":
            return lambda r: get(r) is None
        if op == "!=":
            return lambda r: get(r) is not None
        return lambda r: False
    if op == "=":
        return lambda r: (v := get(r)) is not None and v == value
    if op == "!=":
        return lambda r: (v := get(r)) is None or v != value
    if op == "<":
        return lambda r: (v := get(r)) is not None and v < value
    if op == ">":
        return lambda r: (v := get(r)) is not None and v > value
    if op == "<=":
        return lambda r: (v := get(r)) is not None and v <= value
    return lambda r: (v := get(r)) is not None and v >= value


def date_range(op: str, get: Callable[[Record], Any], bounds: tuple[Any, Any]) -> Predicate:
    """Date literals are ranges: ``= TODAY`` is within today, ``> TODAY`` after it, …"""
    start, end = bounds
    tests: dict[str, Callable[[Any], bool]] = {
        "=": lambda v: start <= v < end, "!=": lambda v: not start <= v < end,
        "<": lambda v: v < start, "<=": lambda v: v < end,
        ">": lambda v: v >= end, ">=": lambda v: v >= start,
    }  # fmt: skip
    test = tests[op]
    return lambda r: (v := get(r)) is not None and test(v)


def like(pattern: str) -> re.Pattern[str]:
    """``%`` any run, ``_`` one character, ``\\%``/``\\_`` themselves; case-insensitive."""
    parts, i = [], 0
    while i < len(pattern):
        if pattern.startswith("\\%", i) or pattern.startswith("\\_", i):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        char = pattern[i]
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)
