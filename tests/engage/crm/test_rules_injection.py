"""Nothing a user types changes the shape of the compiled WHERE.

A tiny SOQL tokenizer and grammar (only what ``compile_where`` may produce) reads every
compiled clause back: it must parse as exactly one condition per rule, joined by the rule's
combinator, every identifier a field of the describe, and every string literal must decode to
exactly what the user typed. Values come from a fixed list of known-nasty strings and from a
seeded generator over an alphabet of quotes, backslashes, wildcards, parentheses, keywords,
control characters and non-ASCII text."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import pytest

from engage.crm.soql_rules import compile_where

TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:\\[\\'"nrtbf%_]|[^'\\\n\r])*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>!=|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN", "null", "true", "false"}
UNESCAPE = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str


def tokenize(soql: str) -> list[Tok]:
    tokens, pos = [], 0
    while pos < len(soql):
        match = TOKEN.match(soql, pos)
        assert match, f"untokenizable SOQL at {pos}: {soql[pos : pos + 30]!r}"
        kind = match.lastgroup
        if kind != "ws":
            text = match.group()
            tokens.append(Tok("kw" if kind == "ident" and text in KEYWORDS else kind, text))
        pos = match.end()
    return tokens


def decode(literal: str, *, like: bool) -> str:
    """The value a SOQL string literal stands for (LIKE escapes kept as the escaped character)."""
    out, i, body = [], 0, literal[1:-1]
    while i < len(body):
        if body[i] == "\\":
            nxt = body[i + 1]
            if nxt in "%_":
                assert like, "\\% and \\_ belong only in LIKE patterns"
                out.append(nxt)
            else:
                out.append(UNESCAPE[nxt])
            i += 2
        else:
            if like:
                assert body[i] not in "%_" or i in (0, len(body) - 1), "unescaped wildcard inside a pattern"
            out.append(body[i])
            i += 1
    return "".join(out)


class Parser:
    """condition (COMB condition)* inside one pair of parentheses when there are several."""

    def __init__(self, tokens: list[Tok], fields: set[str]) -> None:
        self.tokens, self.pos, self.fields = tokens, 0, fields
        self.strings: list[tuple[str, bool]] = []  # (literal, in LIKE)

    def peek(self, offset: int = 0) -> Tok | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self, kind: str, text: str | None = None) -> Tok:
        tok = self.peek()
        assert tok is not None and tok.kind == kind and (text is None or tok.text == text), (
            f"expected {kind} {text or ''} at {self.pos}, got {tok}"
        )
        self.pos += 1
        return tok

    def field(self) -> str:
        name = self.take("ident").text
        assert name in self.fields, f"{name} is not a field of the describe"
        return name

    def literal(self) -> None:
        tok = self.peek()
        assert tok is not None
        if tok.kind == "string":
            self.strings.append((tok.text, False))
        else:
            assert tok.kind in ("number", "date", "datetime") or tok.text in ("null", "true", "false"), tok
        self.pos += 1

    def condition(self) -> None:
        tok = self.peek()
        if tok and tok.kind == "punct" and tok.text == "(":
            self.take("punct", "(")
            if self.peek() and self.peek().text == "NOT":  # (NOT Field LIKE '…')
                self.take("kw", "NOT")
                self.field()
                self.take("kw", "LIKE")
                self.strings.append((self.take("string").text, True))
            else:  # (Field >= dt AND Field < dt)
                self.field()
                self.take("op", ">=")
                self.take("datetime")
                self.take("kw", "AND")
                self.field()
                self.take("op", "<")
                self.take("datetime")
            self.take("punct", ")")
            return
        self.field()
        tok = self.peek()
        assert tok is not None
        if tok.text == "LIKE":
            self.take("kw", "LIKE")
            self.strings.append((self.take("string").text, True))
        elif tok.text == "IN":
            self.take("kw", "IN")
            self.take("punct", "(")
            self.strings.append((self.take("string").text, False))
            while self.peek() and self.peek().text == ",":
                self.take("punct", ",")
                self.strings.append((self.take("string").text, False))
            self.take("punct", ")")
        else:
            self.take("op")
            self.literal()

    def where(self, expected_conditions: int, combinator: str) -> None:
        if expected_conditions == 1:
            self.condition()
        else:
            self.take("punct", "(")
            self.condition()
            for _ in range(expected_conditions - 1):
                self.take("kw", combinator)
                self.condition()
            self.take("punct", ")")
        assert self.pos == len(self.tokens), f"trailing tokens: {self.tokens[self.pos :]}"


def parse(where: str, conditions: int, combinator: str, describe) -> list[tuple[str, bool]]:
    parser = Parser(tokenize(where), {f["name"] for f in describe["fields"]})
    parser.where(conditions, combinator)
    return parser.strings


NASTY = [
    "') OR (Id != '",
    "' OR Id != null OR Title = '",
    "\\' OR 1=1 --",
    "\\",
    "\\\\",
    "'",
    "''",
    '"',
    "%",
    "_",
    "50%",
    "a_b%c\\%",
    "Sales) OR (AnnualRevenue > 0",
    "x' AND NOT Title LIKE '",
    "line1\nline2",
    "tab\there",
    "\r\n' OR '1'='1",
    "Zoë Ærøskøbing",
    "漢字のテスト",
    "🚀 rocket 'quoted'",
    "WHERE Id IN (SELECT Id FROM Lead)",
    "\u202e reversed",
    " leading and trailing ",
]
ALPHABET = [*"abcXYZ019 '\"\\%_()=!<>,;-\n\r\tÉé漢🙂", " OR ", " AND ", " NOT ", "null", "\\'", "')"]


def generated(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    values = []
    for _ in range(count):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 24))).strip()
        values.append(text or "'")
    return values


TEXT_OPERATORS = ["equals", "not_equals", "contains", "not_contains", "starts_with"]


@pytest.mark.parametrize("value", NASTY + generated(200, seed=20240229))
def test_a_typed_value_stays_one_literal(lead_describe, value):
    conditions = [{"field": "Title", "operator": op, "value": value} for op in TEXT_OPERATORS]
    conditions.append({"field": "AnnualRevenue", "operator": "gt", "value": "1000000"})
    for combinator in ("AND", "OR"):
        where = compile_where(conditions, combinator, lead_describe)
        strings = parse(where, len(conditions), combinator, lead_describe)
        typed = value.strip()
        assert len(strings) == len(TEXT_OPERATORS)
        for (literal, like), op in zip(strings, TEXT_OPERATORS, strict=True):
            decoded = decode(literal, like=like)
            if op in ("contains", "not_contains"):
                assert decoded == f"%{typed}%"
            elif op == "starts_with":
                assert decoded == f"{typed}%"
            else:
                assert decoded == typed


@pytest.mark.parametrize("value", NASTY[:12])
def test_nasty_values_never_reach_numbers_dates_ids_or_picklists(lead_describe, value):
    for field, op in (
        ("AnnualRevenue", "gt"),
        ("CreatedDate", "on"),
        ("ConvertedDate", "before"),
        ("OwnerId", "equals"),
        ("Status", "equals"),
        ("Status", "in_list"),
    ):
        with pytest.raises(Exception) as exc:
            compile_where([{"field": field, "operator": op, "value": value}], "AND", lead_describe)
        assert "Condition 1:" in str(exc.value)


@pytest.mark.parametrize("name", ["Title OR Id", "Title--", "Title;", "Lead.Title", "Title'", "(Title)"])
def test_field_names_come_only_from_the_describe(lead_describe, name):
    with pytest.raises(Exception) as exc:
        compile_where([{"field": name, "operator": "equals", "value": "x"}], "AND", lead_describe)
    assert f"Salesforce has no field {name} on Lead." in str(exc.value)


def test_the_tokenizer_catches_a_broken_clause(lead_describe):
    """The checker itself: an injected clause does not parse as one condition."""
    with pytest.raises(AssertionError):
        parse("Title = '' OR (Id != '')", 1, "AND", lead_describe)
    with pytest.raises(AssertionError):
        parse("Title = 'x\\' OR Id != null", 1, "AND", lead_describe)
