"""The WHERE clause's building blocks: comparisons, date-literal ranges and LIKE patterns.

Each returns a predicate over one stored record; ``query.py`` composes them with AND/OR/NOT.
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_comparisonoperators.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection
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


def like(pattern: str, escaped: Collection[int] = ()) -> re.Pattern[str]:
    """``%`` any run, ``_`` one character, except at ``escaped`` offsets (written ``\\%``/``\\_``),
    where they are themselves; case-insensitive."""
    parts = [
        re.escape(char) if i in escaped else ".*" if char == "%" else "." if char == "_" else re.escape(char)
        for i, char in enumerate(pattern)
    ]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


_LITERAL = re.compile(
    r"(?P<when>LAST|THIS|NEXT)_(?P<n>N_)?(?P<unit>DAY|WEEK|MONTH|QUARTER|YEAR)S?|N_(?P<ago>DAY|WEEK|MONTH|QUARTER|YEAR)S_AGO"
)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)


def date_literal_range(name: str, n: int, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days ``[start, end)`` a date literal stands for, seen from ``today`` (UTC).

    Weeks start on Sunday (the en_US locale); the fiscal year is the calendar year (Salesforce's
    default, a fiscal year starting in January). ``LAST_N_DAYS:n`` includes today; ``LAST_N_WEEKS``,
    ``…MONTHS``, ``…QUARTERS``, ``…YEARS`` end where the current period starts; ``NEXT_N_…`` start
    where it ends; ``N_…_AGO:n`` is the one period n periods back.
    """
    # Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
    relative_days = {"YESTERDAY": -1, "TODAY": 0, "TOMORROW": 1}
    if name in relative_days:
        start = today + dt.timedelta(days=relative_days[name])
        return start, start + dt.timedelta(days=1)
    if name in ("LAST_90_DAYS", "NEXT_90_DAYS"):
        name, n = name.replace("90", "N"), 90
    match = _LITERAL.fullmatch(name.replace("FISCAL_", ""))
    if match is None:
        raise ValueError(name)
    unit = match["unit"] or match["ago"]
    week = today - dt.timedelta(days=(today.weekday() + 1) % 7)
    anchors: dict[str, tuple[dt.date, Callable[[dt.date, int], dt.date]]] = {
        "DAY": (today, lambda d, k: d + dt.timedelta(days=k)),
        "WEEK": (week, lambda d, k: d + dt.timedelta(weeks=k)),
        "MONTH": (today.replace(day=1), _add_months),
        "QUARTER": (
            today.replace(day=1, month=(today.month - 1) // 3 * 3 + 1),
            lambda d, k: _add_months(d, 3 * k),
        ),
        "YEAR": (today.replace(day=1, month=1), lambda d, k: _add_months(d, 12 * k)),
    }
    start, step = anchors[unit]
    if match["ago"]:
        return step(start, -n), step(start, 1 - n)
    count = n if match["n"] else 1
    if match["when"] == "THIS":
        return start, step(start, 1)
    if match["when"] == "LAST":
        if unit == "DAY":  # LAST_N_DAYS:n counts today too: n days back through the end of today
            return step(start, -count), step(start, 1)
        return step(start, -count), start
    return step(start, 1), step(start, 1 + count)
