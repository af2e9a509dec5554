"""Merge fields in Salesflow templates (F4, issue 13 point 2): the small template language of a
step's subject and body, checked when a step is saved, for every contact at enrolment, and again
when the step is sent or previewed.

    Hi {{ first_name|there }}, I saw {{ account.name }} is hiring.
    {{ sender.signature }}

- A tag is ``{{ field }}`` or ``{{ field|fallback }}``. Spaces inside the braces are optional
  (``{{first_name}}`` works) and field names ignore case. The fallback is the text after the
  first ``|`` up to ``}}`` with its outer spaces trimmed (``{{ first_name|my friend }}``); it is
  written when the recipient has no value.
- A literal ``{{`` is written ``\\{{`` (the backslash is dropped). A ``}}`` outside a tag is plain
  text.
- Unknown fields (with a "did you mean" when one is close), empty tags, tags never closed and empty
  fallbacks are problems: ``validate`` lists them with their line and column, and a template with
  problems never renders (``MergeTemplateError``).
- A field without a value (absent, empty or only whitespace) and without a fallback makes
  ``render`` raise ``MissingMergeValue`` naming the fields: nothing is sent as "Hi ,". Fields the
  registry marks ``optional`` are the exception: a seller who chose no signature sends without.
- Rendering HTML escapes every value except the fields the registry marks ``html`` (the sender's
  signature, sanitised by ``engage.signatures``), which go in as they are; rendering plain text
  turns those into text. Fallbacks are part of the template and are written as they are.

Pure: no queries. ``context_for`` reads attributes of objects the caller has already loaded (a
contact with ``select_related("account")``, a sender with its organization). Templates are
compiled once per text (``compile_template``, cached) and rendered for many recipients.
"""

from __future__ import annotations

import difflib
import functools
import html as html_lib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from copilot import phones

if TYPE_CHECKING:
    from copilot.models import User
    from engage.models import Contact


# --- The registry -------------------------------------------------------------------------------
@dataclass(frozen=True)
class MergeField:
    key: str  # as written in a tag: "first_name", "account.name", "sender.signature"
    label: str
    source: str  # where the value comes from, as the field picker explains it
    example: str
    read: Callable[[Any], object]  # the value, from the group's object (contact, account, sender)
    html: bool = False  # the value is trusted HTML: not escaped in HTML, turned into text otherwise
    optional: bool = False  # no value is a value: written as nothing (or the fallback), never missing

    @property
    def group(self) -> str:
        prefix, dot, _ = self.key.partition(".")
        return prefix if dot else "contact"

    @property
    def tag(self) -> str:
        return "{{ " + self.key + " }}"


def _attr(name: str) -> Callable[[Any], object]:
    return lambda obj: getattr(obj, name, "")


def _full_name(obj: Any) -> str:
    get = getattr(obj, "get_full_name", None)
    if callable(get):
        return get()
    return f"{getattr(obj, 'first_name', '') or ''} {getattr(obj, 'last_name', '') or ''}"


def _phone(*names: str) -> Callable[[Any], object]:
    """The first of the object's numbers that is set, in the international format."""

    def read(obj: Any) -> str:
        for name in names:
            value = getattr(obj, name, "")
            if value and str(value).strip():
                return phones.display(str(value))
        return ""

    return read


def _contact_company(contact: Any) -> object:
    account = getattr(contact, "account", None)
    return getattr(contact, "company", "") or (getattr(account, "name", "") if account else "")


def _sender_company(sender: Any) -> object:
    organization = getattr(sender, "organization", None)
    return getattr(organization, "name", "") if organization else ""


def _sender_signature(sender: Any) -> str:
    from engage.signatures import signature_html  # Django templates: only when a context is built

    return signature_html(sender)


# fmt: off
FIELDS: dict[str, MergeField] = {f.key: f for f in (
    MergeField("first_name", "First name", "The contact's first name", "Ada", _attr("first_name")),
    MergeField("last_name", "Last name", "The contact's last name", "Lovelace", _attr("last_name")),
    MergeField("full_name", "Full name", "The contact's first and last name", "Ada Lovelace", _full_name),
    MergeField("email", "Email", "The contact's email address", "ada@northwind.example", _attr("email")),
    MergeField("title", "Job title", "The contact's job title", "Head of Engineering", _attr("title")),
    MergeField("company", "Company", "The contact's company name, else their account's name",
               "Northwind", _contact_company),
    MergeField("phone", "Phone", "The contact's direct phone, else business phone, else mobile",
               "+1 415-555-0100", _phone("direct_phone", "business_phone", "mobile_phone")),
    MergeField("mobile_phone", "Mobile phone", "The contact's mobile phone", "+1 415-555-0199",
               _phone("mobile_phone")),
    MergeField("city", "City", "The contact's city", "Berlin", _attr("city")),
    MergeField("state", "State / province", "The contact's state or province", "California", _attr("state")),
    MergeField("country", "Country", "The contact's country", "Germany", _attr("country")),
    MergeField("account.name", "Account name", "The name of the contact's account", "Northwind Traders",
               _attr("name")),
    MergeField("account.domain", "Account domain", "The account's domain", "northwind.example",
               _attr("domain")),
    MergeField("account.website", "Account website", "The account's website", "https://northwind.example",
               _attr("website")),
    MergeField("account.phone", "Account phone", "The account's phone", "+1 415-555-0123", _phone("phone")),
    MergeField("account.city", "Account city", "The city of the account's address", "Seattle", _attr("city")),
    MergeField("account.state", "Account state / province", "The state of the account's address",
               "Washington", _attr("state")),
    MergeField("account.country", "Account country", "The country of the account's address",
               "United States", _attr("country")),
    MergeField("sender.first_name", "Your first name", "The sending seller's first name", "Sam",
               _attr("first_name")),
    MergeField("sender.last_name", "Your last name", "The sending seller's last name", "Rivera",
               _attr("last_name")),
    MergeField("sender.full_name", "Your full name", "The sending seller's name", "Sam Rivera", _full_name),
    MergeField("sender.email", "Your email", "The sending seller's email address", "sam@acme.example",
               _attr("email")),
    MergeField("sender.title", "Your job title", "The job title in the sending seller's profile",
               "Account Executive", _attr("job_title")),
    MergeField("sender.phone", "Your phone", "The phone in the sending seller's profile", "+1 415-555-0142",
               _phone("phone")),
    MergeField("sender.company", "Your company", "The sending seller's organisation", "Acme",
               _sender_company),
    MergeField("sender.signature", "Your signature", "The email signature chosen in the sending seller's profile",
               "Sam Rivera · Account Executive", _sender_signature, html=True, optional=True),
)}
# fmt: on
GROUPS = (("contact", "Contact"), ("account", "Account"), ("sender", "Sender"))
HTML_FIELDS = frozenset(key for key, f in FIELDS.items() if f.html)
# A seller who chose "No signature" sends without one: that is not a missing value.
OPTIONAL_FIELDS = frozenset(key for key, f in FIELDS.items() if f.optional)


def fields_by_group() -> list[tuple[str, list[MergeField]]]:
    """The field picker: (group label, its fields) in the registry's order."""
    return [(label, [f for f in FIELDS.values() if f.group == group]) for group, label in GROUPS]


# --- Values -------------------------------------------------------------------------------------
class MergeContext:
    """One recipient's values by field key. Absent, empty and whitespace-only values are no value;
    the others are kept trimmed. Values of ``html`` fields go into HTML email as they are: take
    them from ``engage.signatures.signature_html`` only."""

    __slots__ = ("_texts", "values")

    def __init__(self, values: Mapping[str, object]) -> None:
        self.values: dict[str, str] = {}
        for key, value in values.items():
            text = "" if value is None else str(value).strip()
            if text:
                self.values[key] = text
        self._texts: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MergeContext({self.values!r})"

    def text_of(self, key: str) -> str:
        """The plain-text form of an ``html`` field's value (converted once)."""
        if key not in self._texts:
            from engage.forms.compose import signature_text  # the one HTML-to-text of a signature

            self._texts[key] = signature_text(self.values[key])
        return self._texts[key]


def contact_values(contact: Any) -> dict[str, object]:
    """The contact's and its account's values (``contact.account`` may be None)."""
    account = getattr(contact, "account", None)
    values: dict[str, object] = {}
    for key, f in FIELDS.items():
        if f.group == "contact":
            values[key] = f.read(contact)
        elif f.group == "account" and account is not None:
            values[key] = f.read(account)
    return values


def sender_values(sender: Any, *, signature: str | None = None) -> dict[str, object]:
    """The sending user's values. ``signature``, the sender's ``signature_html`` built once, saves
    building it again for each recipient."""
    values = {
        key: f.read(sender)
        for key, f in FIELDS.items()
        if f.group == "sender" and not (signature is not None and key == "sender.signature")
    }
    if signature is not None:
        values["sender.signature"] = signature
    return values


def context_for(contact: Contact | Any, sender: User | Any, *, signature: str | None = None) -> MergeContext:
    """The values for one recipient of ``sender``'s email (objects already loaded; see the module)."""
    return MergeContext({**contact_values(contact), **sender_values(sender, signature=signature)})


# --- Parsing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MergeProblem:
    message: str
    line: int  # 1-based, of the tag's "{{"
    column: int  # 1-based
    field: str = ""  # the field as written, when there is one
    suggestion: str = ""  # the known field it is probably meant to be

    def __str__(self) -> str:
        return f"Line {self.line}, column {self.column}: {self.message}"


class MergeTemplateError(ValueError):
    """A template with problems: it cannot be rendered until they are fixed."""

    def __init__(self, problems: Iterable[MergeProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class MissingMergeValue(LookupError):
    """The recipient has no value for these fields, used without a fallback."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = list(fields)
        super().__init__("No value for " + ", ".join("{{ " + f + " }}" for f in self.fields))


@dataclass(frozen=True, slots=True)
class Tag:
    key: str
    fallback: str | None  # None: the recipient must have a value, unless the field is optional
    trusted: bool  # the field's value is HTML (MergeField.html)
    offset: int  # where its "{{" is in the text


@dataclass(frozen=True)
class CompiledTemplate:
    parts: tuple[str | Tag, ...]
    problems: tuple[MergeProblem, ...]

    @property
    def fields(self) -> list[str]:
        """Every field used, once each, in order of first use."""
        return list(dict.fromkeys(p.key for p in self.parts if isinstance(p, Tag)))

    @property
    def required(self) -> list[str]:
        """The fields used somewhere without a fallback, optional ones aside."""
        return list(
            dict.fromkeys(
                p.key
                for p in self.parts
                if isinstance(p, Tag) and p.fallback is None and p.key not in OPTIONAL_FIELDS
            )
        )


OPEN, CLOSE, ESCAPED_OPEN = "{{", "}}", "\\{{"
_SPACE = " \t\r\n\u00a0"
# A prefix people reach for (from other tools, or by habit) and the one meant here.
_PREFIXES = {
    "contact.": "",
    "lead.": "",
    "prospect.": "",
    "person.": "",
    "company.": "account.",
    "organization.": "account.",
    "user.": "sender.",
    "seller.": "sender.",
    "owner.": "sender.",
    "me.": "sender.",
    "my.": "sender.",
}


def _trim(value: str) -> str:
    """Outer spaces off, counting the no-break spaces an HTML editor writes (``&nbsp;``)."""
    value = value.strip(_SPACE)
    while value.startswith("&nbsp;") or value.endswith("&nbsp;"):
        value = value.removeprefix("&nbsp;").removesuffix("&nbsp;").strip(_SPACE)
    return value


def suggest(name: str) -> str:
    """The known field ``name`` is probably meant to be, or ""."""
    name = name.lower()
    for prefix, meant in _PREFIXES.items():
        if name.startswith(prefix):
            name = meant + name[len(prefix) :]
            if name in FIELDS:
                return name
            break
    close = difflib.get_close_matches(name, FIELDS, n=1, cutoff=0.6)
    return close[0] if close else ""


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _tag_problem(written: str, name: str, fallback: str | None) -> tuple[str, str, str]:
    """(message, field, suggestion) for a tag that is not right, or ("", "", "")."""
    shown = "{{ " + written + " }}"
    if not name:
        if fallback is None:
            return ("Empty merge field {{ }}: write a field inside, e.g. {{ first_name }}.", "", "")
        return (f"Merge field {shown} has no field before the |, e.g. {{{{ first_name|there }}}}.", "", "")
    if "<" in name or ">" in name:
        meant = suggest(_strip_tags(name))
        hint = (
            f" Type it again as plain text: {{{{ {meant} }}}}." if meant else " Type it again as plain text."
        )
        return (f"Merge field {shown} has formatting inside it.{hint}", name, meant)
    if name.lower() not in FIELDS:
        meant = suggest(name)
        if meant:
            return (f"Unknown merge field {{{{ {name} }}}} — did you mean {{{{ {meant} }}}}?", name, meant)
        return (f"Unknown merge field {{{{ {name} }}}}: choose one from the list of merge fields.", name, "")
    if fallback is not None and not fallback:
        message = (
            f"The fallback in {shown} is empty: write the text to use when a contact has no value "
            "after the | (e.g. {{ first_name|there }}), or remove the |."
        )
        return (message, name, "")
    return ("", "", "")


def _strip_tags(value: str) -> str:
    out, inside = [], False
    for char in value:
        if char == "<":
            inside = True
        elif char == ">":
            inside = False
        elif not inside:
            out.append(char)
    return _trim("".join(out))


def _parse(text: str) -> CompiledTemplate:
    parts: list[str | Tag] = []
    problems: list[MergeProblem] = []
    literal: list[str] = []
    pos = 0
    while True:
        start = text.find(OPEN, pos)
        if start == -1:
            literal.append(text[pos:])
            break
        if start > 0 and text[start - 1] == "\\":  # \{{ is a literal {{
            literal.append(text[pos : start - 1] + OPEN)
            pos = start + 2
            continue
        literal.append(text[pos:start])
        end = text.find(CLOSE, start + 2)
        reopened = text.find(OPEN, start + 2)
        if end == -1 or (reopened != -1 and reopened < end):
            stop = min(i for i in (text.find("\n", start), reopened, len(text)) if i != -1)
            shown = _trim(text[start:stop])[:40]
            problems.append(
                MergeProblem(
                    f"Merge field “{shown}” is not closed: end it with }}}} (or write \\{{{{ for a literal {{{{).",
                    *_position(text, start),
                )
            )
            literal.append(OPEN)
            pos = start + 2
            continue
        inner = text[start + 2 : end].replace("&nbsp;", " ")
        written, bar, rest = inner.partition("|")
        name, fallback = _trim(written), (_trim(rest) if bar else None)
        message, field, meant = _tag_problem(_trim(inner), name, fallback)
        if message:
            problems.append(MergeProblem(message, *_position(text, start), field=field, suggestion=meant))
        else:
            if literal:
                parts.append("".join(literal))
                literal = []
            key = name.lower()
            parts.append(Tag(key, fallback, key in HTML_FIELDS, start))
        pos = end + 2
    if any(literal):
        parts.append("".join(literal))
    return CompiledTemplate(tuple(p for p in parts if p != ""), tuple(problems))


@functools.lru_cache(maxsize=256)
def compile_template(text: str) -> CompiledTemplate:
    """``text`` parsed once: literal pieces and tags, and its problems (cached by text)."""
    return _parse(text)


# --- The API ------------------------------------------------------------------------------------
def validate(text: str, *, subject: bool = False) -> list[MergeProblem]:
    """Every problem of ``text``; a subject line may not use fields whose value is HTML."""
    template = compile_template(text or "")
    problems = list(template.problems)
    if subject:
        for tag in template.parts:
            if isinstance(tag, Tag) and tag.trusted:
                message = f"{FIELDS[tag.key].tag} cannot be used in a subject line."
                problems.append(MergeProblem(message, *_position(text, tag.offset), field=tag.key))
    return sorted(problems, key=lambda p: (p.line, p.column))


def _checked(text: str) -> CompiledTemplate:
    template = compile_template(text or "")
    if template.problems:
        raise MergeTemplateError(template.problems)
    return template


def _as_context(context: MergeContext | Mapping[str, object]) -> MergeContext:
    return context if isinstance(context, MergeContext) else MergeContext(context)


def missing_for(text: str, context: MergeContext | Mapping[str, object]) -> list[str]:
    """The fields used without a fallback that this recipient has no value for."""
    values = _as_context(context).values
    return [key for key in _checked(text).required if key not in values]


def render(text: str, context: MergeContext | Mapping[str, object], *, html: bool) -> str:
    """``text`` filled for one recipient (see the module for escaping and fallbacks). Raises
    ``MergeTemplateError`` for a template with problems and ``MissingMergeValue`` when a field used
    without a fallback has no value."""
    template = _checked(text)
    ctx = _as_context(context)
    values = ctx.values
    escape = html_lib.escape
    out: list[str] = []
    missing: list[str] = []
    for part in template.parts:
        if type(part) is str:
            out.append(part)
            continue
        value = values.get(part.key)
        if value is None:
            if part.fallback is not None:
                out.append(part.fallback)
            elif part.key not in OPTIONAL_FIELDS:
                missing.append(part.key)
        elif part.trusted:
            out.append(value if html else ctx.text_of(part.key))
        else:
            out.append(escape(value) if html else value)
    if missing:
        raise MissingMergeValue(dict.fromkeys(missing))
    return "".join(out)
