"""SOQL tokenizer and parser: the subset Cadence sends, parsed with Salesforce's own strictness.

Supported: ``SELECT`` field paths (``Owner.Name``), ``COUNT()`` / ``COUNT(field)``, ``FROM``,
``WHERE`` with ``AND``/``OR``/``NOT`` and parentheses, ``= != <> < > <= >= LIKE IN NOT IN
INCLUDES EXCLUDES``, ``NULL``, ``TRUE``/``FALSE``, strings with backslash escapes (``\\_`` and ``\\%``
in LIKE patterns only), numbers, date and datetime literals and every relative date literal
(``TODAY``, ``LAST_WEEK``, ``THIS_MONTH``, ``LAST_N_MONTHS:n``, ``N_YEARS_AGO:n``, fiscal ones with
the default January fiscal year…), ``ORDER BY`` (``ASC``/``DESC``, ``NULLS FIRST``/``LAST``),
``LIMIT``, ``OFFSET``. Like Salesforce, mixing ``AND`` and ``OR`` without parentheses and ``x AND
NOT y`` are syntax errors (the Apex grammar: ``NOT`` only opens a condition).
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_logicaloperators.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class SoqlError(Exception):
    """A query Salesforce would refuse; ``pos`` is the offset of the offending text."""

    def __init__(self, code: str, detail: str, pos: int) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.pos = pos

    def message(self, soql: str) -> str:
        """Salesforce's layout: the line, a caret under the error, its row/column, the reason."""
        pos = min(self.pos, len(soql))
        row = soql.count("\n", 0, pos) + 1
        line_start = soql.rfind("\n", 0, pos) + 1
        line_end = soql.find("\n", pos)
        line = soql[line_start : None if line_end < 0 else line_end]
        column = pos - line_start + 1
        return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{self.detail}"


KEYWORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "LIKE", "IN", "INCLUDES", "EXCLUDES", "ORDER",
     "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE",
     "GROUP", "HAVING", "WITH", "FOR", "USING"}
)  # fmt: skip
_UNITS = ("DAYS", "WEEKS", "MONTHS", "QUARTERS", "YEARS", "FISCAL_QUARTERS", "FISCAL_YEARS")
DATE_LITERALS = frozenset(
    {"TODAY", "YESTERDAY", "TOMORROW", "LAST_90_DAYS", "NEXT_90_DAYS"}
    | {f"{when}_{unit[:-1]}" for when in ("LAST", "THIS", "NEXT") for unit in _UNITS[1:]}
)
N_DATE_LITERALS = frozenset(
    {f"{when}_N_{unit}" for when in ("LAST", "NEXT") for unit in _UNITS}
    | {f"N_{unit}_AGO" for unit in _UNITS}
)
# \n \r \t \b \f in either case; \_ and \% are LIKE-only and \uXXXX is a code point (handled apart).
STRING_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
LIKE_ESCAPES = ("_", "%")
_UNICODE = re.compile(r"u([0-9A-Fa-f]{4})")

_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\dT])")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_N_DAYS = re.compile(r":(\d+)")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")


@dataclass(frozen=True)
class Token:
    kind: str  # ident, keyword, string, number, date, datetime, dateliteral, op, (, ), ",", eof
    value: Any
    pos: int
    text: str
    escaped: tuple[int, ...] = ()  # strings: offsets in ``value`` of characters written \_ or \%


def tokenize(soql: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(soql)
    while i < n:
        char = soql[i]
        if char.isspace():
            i += 1
        elif char == "'":
            i = _string(soql, i, tokens)
        elif char in "(),":
            tokens.append(Token(char, char, i, char))
            i += 1
        elif char.isdigit() or (char == "-" and i + 1 < n and soql[i + 1].isdigit()):
            i = _number_or_date(soql, i, tokens)
        elif char.isalpha() or char == "_":
            match = _IDENT.match(soql, i)
            assert match is not None
            word = match.group()
            upper = word.upper()
            if upper in N_DATE_LITERALS and (days := _N_DAYS.match(soql, match.end())):
                tokens.append(Token("dateliteral", (upper, int(days.group(1))), i, soql[i : days.end()]))
                i = days.end()
                continue
            if upper in DATE_LITERALS:
                tokens.append(Token("dateliteral", (upper, 0), i, word))
            elif upper in KEYWORDS:
                tokens.append(Token("keyword", upper, i, word))
            else:
                tokens.append(Token("ident", word, i, word))
            i = match.end()
        else:
            op = next((o for o in _OPERATORS if soql.startswith(o, i)), None)
            if op is None:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{char}'", i)
            tokens.append(Token("op", "!=" if op == "<>" else op, i, op))
            i += len(op)
    tokens.append(Token("eof", None, n, "<EOF>"))
    return tokens


def _string(soql: str, start: int, tokens: list[Token]) -> int:
    """A quoted string, escapes decoded. ``\\_`` and ``\\%`` become ``_`` and ``%`` with their offsets
    kept, so LIKE can tell them from wildcards and any other use can be refused."""
    out: list[str] = []
    escaped: list[int] = []
    i = start + 1
    while i < len(soql):
        char = soql[i]
        if char == "\\":
            escape = soql[i + 1 : i + 2]
            unicode = _UNICODE.match(soql, i + 1)
            if escape.lower() in STRING_ESCAPES and escape:
                out.append(STRING_ESCAPES[escape.lower()])
                i += 2
            elif escape in LIKE_ESCAPES and escape:
                escaped.append(len(out))
                out.append(escape)
                i += 2
            elif unicode:
                out.append(chr(int(unicode.group(1), 16)))
                i = unicode.end()
            else:
                raise illegal_sequence(soql[start + 1 : i + 2], f"\\{escape}", start)
        elif char == "'":
            tokens.append(Token("string", "".join(out), start, soql[start : i + 1], tuple(escaped)))
            return i + 1
        else:
            out.append(char)
            i += 1
    raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{soql[start:]}'", start)


def illegal_sequence(literal: str, sequence: str, pos: int) -> SoqlError:
    return SoqlError(
        "MALFORMED_QUERY",
        f"Invalid string literal '{literal}'. Illegal character sequence '{sequence}' in string literal.",
        pos,
    )


def _number_or_date(soql: str, i: int, tokens: list[Token]) -> int:
    if match := _DATETIME.match(soql, i):
        tokens.append(Token("datetime", match.group(), i, match.group()))
        return match.end()
    if match := _DATE.match(soql, i):
        tokens.append(Token("date", match.group(), i, match.group()))
        return match.end()
    match = _NUMBER.match(soql, i)
    assert match is not None
    text = match.group()
    tokens.append(Token("number", float(text) if "." in text else int(text), i, text))
    return match.end()


# --- AST -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    path: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, date, datetime, boolean, null, dateliteral
    value: Any
    pos: int
    text: str
    escaped: tuple[int, ...] = ()  # strings: offsets of characters written \_ or \% (LIKE only)


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    op: str  # = != < > <= >= LIKE IN NOT IN INCLUDES EXCLUDES
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class Not:
    operand: Condition


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND / OR
    operands: tuple[Condition, ...]


Condition = Comparison | Not | BoolOp


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass
class Query:
    sobject: str
    sobject_pos: int
    fields: list[FieldRef] = field(default_factory=list)
    count: FieldRef | str | None = None  # "*" for COUNT(), a field for COUNT(field)
    count_alias: str = "expr0"
    where: Condition | None = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


# --- parser ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, soql: str) -> None:
        self.tokens = tokenize(soql)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at(self, kind: str, value: Any = None) -> bool:
        return self.tok.kind == kind and (value is None or self.tok.value == value)

    def accept(self, kind: str, value: Any = None) -> Token | None:
        return self.take() if self.at(kind, value) else None

    def expect(self, kind: str, value: Any = None) -> Token:
        if not self.at(kind, value):
            self.unexpected()
        return self.take()

    def unexpected(self) -> None:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{self.tok.text}'", self.tok.pos)

    def query(self) -> Query:
        self.expect("keyword", "SELECT")
        fields, count, alias = self.select_list()
        self.expect("keyword", "FROM")
        sobject = self.expect("ident")
        query = Query(sobject.value, sobject.pos, fields=fields, count=count, count_alias=alias)
        if self.accept("keyword", "WHERE"):
            query.where = self.logical()
        if self.at("keyword", "GROUP") or self.at("keyword", "HAVING") or self.at("keyword", "WITH"):
            raise SoqlError(
                "MALFORMED_QUERY",
                f"{self.tok.value} is not supported by the Cadence provider sandbox",
                self.tok.pos,
            )
        if self.accept("keyword", "ORDER"):
            self.expect("keyword", "BY")
            query.order = [self.order_item()]
            while self.accept(","):
                query.order.append(self.order_item())
        if self.accept("keyword", "LIMIT"):
            query.limit = self.non_negative_int()
        if self.accept("keyword", "OFFSET"):
            offset_pos = self.tok.pos
            query.offset = self.non_negative_int()
            if query.offset > 2000:
                raise SoqlError(
                    "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000", offset_pos
                )
        if self.accept("keyword", "FOR"):
            self.expect("ident")  # FOR VIEW / FOR REFERENCE: accepted, no effect here
        self.expect("eof")
        return query

    def select_list(self) -> tuple[list[FieldRef], FieldRef | str | None, str]:
        if self.at("ident") and self.tok.value.upper() == "COUNT" and self.tokens[self.i + 1].kind == "(":
            self.take()
            self.take()
            if self.accept(")"):
                return [], "*", "expr0"
            counted = self.field_ref()
            self.expect(")")
            alias = self.accept("ident")
            return [], counted, alias.value if alias else "expr0"
        fields = [self.select_item()]
        while self.accept(","):
            fields.append(self.select_item())
        return fields, None, "expr0"

    def select_item(self) -> FieldRef:
        if self.at("("):
            raise SoqlError(
                "MALFORMED_QUERY",
                "relationship subqueries are not supported by the Cadence provider sandbox",
                self.tok.pos,
            )
        return self.field_ref()

    def field_ref(self) -> FieldRef:
        token = self.expect("ident")
        if self.at("("):  # a function such as CALENDAR_YEAR(…) or FORMAT(…)
            raise SoqlError(
                "MALFORMED_QUERY",
                f"{token.value}() is not supported by the Cadence provider sandbox",
                token.pos,
            )
        return FieldRef(tuple(token.value.split(".")), token.pos)

    def logical(self) -> Condition:
        if self.accept("keyword", "NOT"):
            return Not(self.conditional())
        first = self.conditional()
        if self.at("keyword", "AND") or self.at("keyword", "OR"):
            op = self.tok.value
            operands = [first]
            while self.accept("keyword", op):
                operands.append(self.conditional())
            return BoolOp(op, tuple(operands))
        return first

    def conditional(self) -> Condition:
        if self.accept("("):
            inner = self.logical()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        ref = self.field_ref()
        if self.at("op"):
            op = self.take().value
            return Comparison(ref, op, self.value())
        if self.accept("keyword", "LIKE"):
            return Comparison(ref, "LIKE", self.value())
        negated = bool(self.accept("keyword", "NOT"))
        if self.at("keyword", "IN") or (
            not negated and (self.at("keyword", "INCLUDES") or self.at("keyword", "EXCLUDES"))
        ):
            op = self.take().value
            return Comparison(ref, f"NOT {op}" if negated else op, self.value_list())
        self.unexpected()
        raise AssertionError  # unreachable: unexpected() raises

    def value_list(self) -> tuple[Literal, ...]:
        self.expect("(")
        if self.at("keyword", "SELECT"):
            raise SoqlError(
                "MALFORMED_QUERY", "semi-join subqueries are not supported by the Cadence provider sandbox",
                self.tok.pos,
            )  # fmt: skip
        values = [self.value()]
        while self.accept(","):
            values.append(self.value())
        self.expect(")")
        return tuple(values)

    def value(self) -> Literal:
        token = self.tok
        if token.kind in ("string", "number", "date", "datetime", "dateliteral"):
            self.take()
            return Literal(token.kind, token.value, token.pos, token.text, token.escaped)
        if token.kind == "keyword" and token.value in ("TRUE", "FALSE"):
            self.take()
            return Literal("boolean", token.value == "TRUE", token.pos, token.text)
        if token.kind == "keyword" and token.value == "NULL":
            self.take()
            return Literal("null", None, token.pos, token.text)
        self.unexpected()
        raise AssertionError

    def order_item(self) -> OrderItem:
        ref = self.field_ref()
        descending = bool(self.accept("keyword", "DESC"))
        if not descending:
            self.accept("keyword", "ASC")
        nulls_last = descending  # Salesforce's defaults: ASC NULLS FIRST, DESC NULLS LAST
        if self.accept("keyword", "NULLS"):
            if self.accept("keyword", "LAST"):
                nulls_last = True
            else:
                self.expect("keyword", "FIRST")
                nulls_last = False
        return OrderItem(ref, descending, nulls_last)

    def non_negative_int(self) -> int:
        token = self.expect("number")
        if not isinstance(token.value, int) or token.value < 0:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'", token.pos)
        return token.value


def parse(soql: str) -> Query:
    """The query's syntax tree; ``SoqlError`` for anything Salesforce would refuse to parse."""
    return _Parser(soql).query()
