"""Compiles a parsed SOQL query against the schema into closures, then evaluates it in one pass.

Field paths become getters (following ``Owner.Name``-style relationships through the store),
the WHERE tree becomes one predicate, ORDER BY becomes stable sorts. Compiling once and sorting
once per query is what keeps a 100,000-record ``ORDER BY SystemModstamp`` poll cheap; the pages
after the first only render records (see ``cursors.py``).
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_comparisonoperators.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from integrations.sandbox.salesforce import ids, soql
from integrations.sandbox.salesforce.errors import SalesforceError
from integrations.sandbox.salesforce.predicates import (
    FAST_COMPARE,
    Predicate,
    compare,
    date_literal_range,
    date_range,
    folded,
    like,
)
from integrations.sandbox.salesforce.schema import (
    BY_PREFIX,
    OBJECTS,
    TEXT_TYPES,
    Field,
    ObjectDef,
    find_object,
)
from integrations.sandbox.salesforce.store import Record, SalesforceStore
from integrations.sandbox.salesforce.values import DERIVED, attributes, getter, output, parse_datetime

SOAP_TYPES = {"boolean": "boolean", "int": "int", "double": "double", "currency": "double",
              "percent": "double", "date": "date", "datetime": "dateTime", "id": "id",
              "reference": "id"}  # fmt: skip


@dataclass
class Node:
    """A SELECT list level: leaves (name, getter, output) and relationship children per target."""

    leaves: list[tuple[str, Callable[[Record], Any], Callable[[Any], Any]]] = field(default_factory=list)
    children: dict[str, tuple[str, dict[str, Node]]] = field(default_factory=dict)  # rel -> (fk, per type)


@dataclass
class Plan:
    obj: ObjectDef
    text: str  # the SOQL it was compiled from (a saved query cursor is compiled again from it)
    version: str
    root: Node
    predicate: Predicate | None
    order: list[tuple[Callable[[Record], Any], bool, bool, str | None]]  # key, desc, nulls last, plain
    include_deleted: bool
    limit: int | None
    offset: int
    count: Callable[[Record], Any] | str | None
    count_alias: str
    store: SalesforceStore

    def render(self, record: Record) -> dict[str, Any]:
        return _render(self, self.obj.name, self.root, record)


class _Compiler:
    def __init__(self, store: SalesforceStore, text: str, query: soql.Query) -> None:
        self.store, self.text, self.query = store, text, query
        obj = find_object(query.sobject)
        if obj is None:
            raise self.error(
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
                query.sobject_pos,
            )
        self.obj = obj

    def error(self, code: str, detail: str, pos: int) -> SalesforceError:
        return SalesforceError(400, code, soql.SoqlError(code, detail, pos).message(self.text))

    def resolve(self, ref: soql.FieldRef) -> tuple[Field, Callable[[Record], Any]]:
        """The final field of a path and a getter from the root record, following relationships."""
        return self._resolve(self.obj, ref.path, ref)

    def _resolve(self, obj: ObjectDef, path: tuple[str, ...], ref: soql.FieldRef) -> tuple[Field, Any]:
        if len(path) == 1:
            found = obj.field(path[0])
            if found is None:
                raise self.error(
                    "INVALID_FIELD",
                    f"No such column '{path[0]}' on entity '{obj.name}'. If you are attempting to use "
                    "a custom field, be sure to append the '__c' after the custom field name. Please "
                    "reference your WSDL or the describe call for the appropriate names.",
                    ref.pos,
                )
            return found, getter(self.store, obj, found)
        fk, targets = self.relationship(obj, path[0], ref)
        resolved = {}
        for target in targets:
            if len(path) == 2 and target.field(path[1]) is None and len(targets) > 1:
                continue  # a polymorphic field only some targets have
            resolved[target.key_prefix] = self._resolve(target, path[1:], ref)
        if not resolved:
            self._resolve(targets[0], path[1:], ref)  # raises the INVALID_FIELD
        final = next(iter(resolved.values()))[0]
        get_fk = getter(self.store, obj, fk)
        tables = {prefix: self.store.records[BY_PREFIX[prefix].name] for prefix in resolved}
        getters = {prefix: pair[1] for prefix, pair in resolved.items()}

        def follow(record: Record) -> Any:
            target_id = get_fk(record)
            if not target_id or target_id[:3] not in tables:
                return None
            target = tables[target_id[:3]].get(target_id)
            return None if target is None else getters[target_id[:3]](target)

        return final, follow

    def relationship(self, obj: ObjectDef, name: str, ref: soql.FieldRef) -> tuple[Field, list[ObjectDef]]:
        fk = obj.relationships.get(name.lower())
        if fk is None:
            raise self.error(
                "INVALID_FIELD",
                f"Didn't understand relationship '{name}' in field path. If you are attempting to use "
                "a custom relationship, be sure to append the '__r' after the custom relationship name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
                ref.pos,
            )
        return fk, [OBJECTS[t] for t in fk.reference_to if t in OBJECTS]

    # --- SELECT list -------------------------------------------------------------------------

    def select(self) -> Node:
        root, seen = Node(), set()
        for ref in self.query.fields:
            self.resolve(ref)  # INVALID_FIELD before anything else
            if ref.text.lower() in seen:  # names are case-insensitive, so this is the canonical test
                raise self.error("MALFORMED_QUERY", f"duplicate field selected: {ref.text}", ref.pos)
            seen.add(ref.text.lower())
            self.add(root, self.obj, ref.path, ref)
        return root

    def add(self, node: Node, obj: ObjectDef, path: tuple[str, ...], ref: soql.FieldRef) -> None:
        if len(path) == 1:
            found, get = self._resolve(obj, path, ref)
            node.leaves.append((found.name, get, output(found)))
            return
        fk, targets = self.relationship(obj, path[0], ref)
        assert fk.relationship_name is not None
        if fk.relationship_name not in node.children:
            node.children[fk.relationship_name] = (fk.name, {t.name: Node() for t in targets})
            node.leaves.append((fk.relationship_name, _child_marker, _child_marker))
        for target in targets:
            if len(path) > 2 or target.field(path[1]) is not None or len(targets) == 1:
                self.add(node.children[fk.relationship_name][1][target.name], target, path[1:], ref)

    # --- WHERE -------------------------------------------------------------------------------

    def condition(self, cond: soql.Condition) -> Predicate:
        if isinstance(cond, soql.Not):
            inner = self.condition(cond.operand)
            return lambda record: not inner(record)
        if isinstance(cond, soql.BoolOp):
            parts = [self.condition(c) for c in cond.operands]
            if cond.op == "AND":
                return lambda record: all(p(record) for p in parts)
            return lambda record: any(p(record) for p in parts)
        return self.comparison(cond)

    def comparison(self, cmp: soql.Comparison) -> Predicate:
        target, get = self.resolve(cmp.field)
        if not target.filterable:
            raise self.error(
                "INVALID_FIELD",
                f"field '{target.name}' can not be filtered in a query call", cmp.field.pos,
            )  # fmt: skip
        op = cmp.op
        if op in ("IN", "NOT IN", "INCLUDES", "EXCLUDES"):
            assert isinstance(cmp.value, tuple)
            values = {self.literal(target, v, op) for v in cmp.value}
            if op in ("INCLUDES", "EXCLUDES"):
                raise self.error(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"{op} is only valid on multi-select picklists",
                    cmp.field.pos,
                )
            fold = folded(target, get)
            if op == "IN":
                return lambda r: (v := fold(r)) is not None and v in values
            return lambda r: (v := fold(r)) is None or v not in values
        assert isinstance(cmp.value, soql.Literal)
        literal = cmp.value
        if op == "LIKE":
            if target.type not in TEXT_TYPES or target.type in ("id", "reference"):
                raise self.error(
                    "INVALID_QUERY_FILTER_OPERATOR", f"invalid operator on {SOAP_TYPES.get(target.type, target.type)} field",
                    cmp.field.pos,
                )  # fmt: skip
            if literal.kind != "string":
                raise self.type_error(target, literal)
            pattern = like(literal.value, frozenset(literal.escaped))
            return lambda r: (v := get(r)) is not None and pattern.fullmatch(v) is not None
        if literal.kind == "dateliteral" and target.type in ("date", "datetime"):
            return date_range(op, get, self.literal_range(target, literal.value))
        value = self.literal(target, literal, op)
        name = self.stored_name(cmp.field, target)
        if name is not None and value is not None and op in FAST_COMPARE:
            return FAST_COMPARE[op](name, value)
        return compare(op, folded(target, get), value)

    def stored_name(self, ref: soql.FieldRef, target: Field) -> str | None:
        """The key to read straight from the record dict when nothing is derived or folded
        (numbers, dates, datetimes, ids): the hot path of a big ``SystemModstamp`` poll."""
        plain = target.type not in TEXT_TYPES or target.type in ("id", "reference")
        stored = (self.obj.name, target.name) not in DERIVED and target.type != "boolean"
        return target.name if len(ref.path) == 1 and plain and stored else None

    def literal(self, target: Field, literal: soql.Literal, op: str) -> Any:
        """The literal converted to the field's stored form (lower-cased for text)."""
        if literal.kind == "null":
            return None
        if literal.escaped:
            # Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
            # "LIKE expression only: \_ … \%"; "If you use a backslash character in any other
            # context, an error occurs."
            sequence = "\\" + literal.value[literal.escaped[0]]
            raise self.error(
                "MALFORMED_QUERY",
                soql.illegal_sequence(literal.text[1:-1], sequence, literal.pos).detail,
                literal.pos,
            )
        kind = target.type
        if kind in ("id", "reference"):
            if literal.kind != "string":
                raise self.type_error(target, literal)
            full = ids.normalize(literal.value)
            if full is None:
                raise self.error(
                    "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {literal.value}", literal.pos
                )
            return full
        if kind in TEXT_TYPES:
            if literal.kind != "string":
                raise self.type_error(target, literal)
            return literal.value.lower()
        expected = {"boolean": ("boolean",), "date": ("date",), "datetime": ("datetime",)}.get(
            kind, ("number",)
        )
        if literal.kind not in expected:
            raise self.type_error(target, literal)
        if kind == "datetime":
            return parse_datetime(literal.value)
        return literal.value

    def type_error(self, target: Field, literal: soql.Literal) -> SalesforceError:
        soap = SOAP_TYPES.get(target.type, "string")
        quoted = (
            "should be enclosed in quotes" if soap in ("string", "id") else "should not be enclosed in quotes"
        )
        return self.error(
            "INVALID_FIELD",
            f"value of filter criterion for field '{target.name}' must be of type {soap} and {quoted}",
            literal.pos,
        )

    def literal_range(self, target: Field, literal: tuple[str, int]) -> tuple[Any, Any]:
        name, n = literal
        today = dt.datetime.fromtimestamp(self.store.clock.now(), dt.UTC).date()
        start, end = date_literal_range(name, n, today)
        if target.type == "date":
            return start.isoformat(), end.isoformat()
        midnight = dt.time(tzinfo=dt.UTC)
        return (int(dt.datetime.combine(start, midnight).timestamp()),
                int(dt.datetime.combine(end, midnight).timestamp()))  # fmt: skip

    def order(self) -> list[tuple[Callable[[Record], Any], bool, bool, str | None]]:
        keys = []
        for item in self.query.order:
            target, get = self.resolve(item.field)
            if target.type in ("textarea", "address"):
                raise self.error(
                    "INVALID_FIELD",
                    f"field '{target.name}' can not be sorted in a query call",
                    item.field.pos,
                )
            keys.append(
                (folded(target, get), item.descending, item.nulls_last, self.stored_name(item.field, target))
            )
        return keys


def _child_marker(value: Any) -> Any:
    return value


def _render(plan: Plan, sobject: str, node: Node, record: Record) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": attributes(sobject, record["Id"], plan.version)}
    for name, get, show in node.leaves:
        if get is _child_marker:
            fk, per_type = node.children[name]
            target_id = record.get(fk)
            found = plan.store.find(target_id) if target_id else None
            child = per_type.get(found[0].name) if found else None
            out[name] = (
                None if child is None or found is None else _render(plan, found[0].name, child, found[1])
            )
        else:
            out[name] = show(get(record))
    return out


def compile_query(store: SalesforceStore, text: str, *, version: str, include_deleted: bool) -> Plan:
    try:
        parsed = soql.parse(text)
    except soql.SoqlError as exc:
        raise SalesforceError(400, exc.code, exc.message(text)) from None
    compiler = _Compiler(store, text, parsed)
    count: Callable[[Record], Any] | str | None = None
    if parsed.count == "*":
        count = "*"
    elif isinstance(parsed.count, soql.FieldRef):
        count = compiler.resolve(parsed.count)[1]
    return Plan(
        obj=compiler.obj,
        text=text,
        version=version,
        root=compiler.select(),
        predicate=compiler.condition(parsed.where) if parsed.where is not None else None,
        order=compiler.order(),
        include_deleted=include_deleted,
        limit=parsed.limit,
        offset=parsed.offset or 0,
        count=count,
        count_alias=parsed.count_alias,
        store=store,
    )


def evaluate(plan: Plan) -> list[Record]:
    """Every matching record, filtered, sorted once, then OFFSET and LIMIT applied."""
    table = plan.store.records[plan.obj.name].values()
    predicate = plan.predicate
    if plan.include_deleted:
        rows = [r for r in table if predicate is None or predicate(r)]
    elif predicate is None:
        rows = [r for r in table if not r.get("IsDeleted")]
    else:
        rows = [r for r in table if not r.get("IsDeleted") and predicate(r)]
    for key, descending, nulls_last, name in reversed(plan.order):
        # Stable sorts chain into ORDER BY a, b. No per-row tuples: allocating 100k of them wakes
        # the garbage collector over the whole store, which costs more than the sort itself.
        if name:
            present = [r for r in rows if r.get(name) is not None]
            nulls = [r for r in rows if r.get(name) is None] if len(present) < len(rows) else []
            present.sort(key=itemgetter(name), reverse=descending)
        else:
            present = [r for r in rows if key(r) is not None]
            nulls = [r for r in rows if key(r) is None] if len(present) < len(rows) else []
            present.sort(key=key, reverse=descending)
        rows = present + nulls if nulls_last else nulls + present
    end = None if plan.limit is None else plan.offset + plan.limit
    return rows[plan.offset : end] if plan.offset or end is not None else rows
