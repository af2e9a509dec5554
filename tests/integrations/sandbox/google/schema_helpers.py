"""Checks JSON answers against the response schema of their method in the discovery documents
bundled with google-api-python-client (the ones the client library builds its methods from).

``ValidatingHttp`` wraps the http object given to ``build()``: every JSON response of a known
method is validated (``$ref``s walked; property names must exist; string / integer — int64 and
uint64 as decimal strings — / number / boolean / array / object and enums must match), and the
method ids it validated are remembered so a test can prove every route was covered.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from integrations.sandbox.google.discovery import DOCUMENTS, document, iter_methods

# Where each API sits under the sandbox (the api_endpoint the tests give build()).
PREFIXES = {
    "gmail": "/google/",
    "calendar": "/google/calendar/v3/",
    "people": "/google/",
    "admin": "/google/",
}
VALIDATED: set[str] = set()


class SchemaError(AssertionError):
    pass


def errors_in(api: str, schema: dict[str, Any], value: Any, path: str = "$") -> list[str]:
    doc = document(api)
    if "$ref" in schema:
        schema = doc["schemas"][schema["$ref"]]
    kind = schema.get("type")
    problems: list[str] = []
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected object, got {type(value).__name__}"]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                problems += errors_in(api, properties[key], item, f"{path}.{key}")
            elif extra is not None:
                problems += errors_in(api, extra, item, f"{path}.{key}")
            else:
                problems.append(f"{path}.{key}: not a property of {schema.get('id', 'object')}")
    elif kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected array, got {type(value).__name__}"]
        for index, item in enumerate(value):
            problems += errors_in(api, schema.get("items", {}), item, f"{path}[{index}]")
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected string, got {type(value).__name__}"]
        if schema.get("format") in ("int64", "uint64") and not re.fullmatch(r"-?\d+", value):
            problems.append(f"{path}: {schema['format']} must be a decimal string, got {value!r}")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{path}: {value!r} not in {schema['enum']}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: expected integer, got {type(value).__name__}")
    elif kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            problems.append(f"{path}: expected number, got {type(value).__name__}")
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{path}: expected boolean, got {type(value).__name__}")
    return problems


def validate(api: str, schema_name: str, value: Any) -> None:
    problems = errors_in(api, {"$ref": schema_name}, value)
    if problems:
        raise SchemaError(f"{schema_name} does not match its discovery schema:\n" + "\n".join(problems))


@cache
def _method_patterns() -> list[tuple[str, str, re.Pattern[str], dict[str, Any], int]]:
    found = []
    for api in DOCUMENTS:
        for method in iter_methods(document(api)):
            template = method.get("flatPath") or method["path"]
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            regex = re.escape(PREFIXES[api] + template)
            regex = re.sub(r"\\\{\\\+[^}]+\\\}", ".+", regex)
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", regex)
            found.append((api, method["httpMethod"], re.compile(regex), method, literal))
    return sorted(found, key=lambda entry: -entry[4])


def method_for(http_method: str, url: str) -> tuple[str, dict[str, Any]] | None:
    path = urlsplit(url).path
    for api, verb, pattern, method, _ in _method_patterns():
        if verb == http_method and pattern.fullmatch(path):
            return api, method
    return None


def check_response(http_method: str, url: str, status: int, content: bytes) -> None:
    """Validate one API answer (errors must carry Google's error envelope)."""
    found = method_for(http_method, url)
    if found is None:
        return
    api, method = found
    if status >= 300:
        if content:
            body = json.loads(content)
            assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
        return
    VALIDATED.add(method["id"])
    reference = method.get("response", {}).get("$ref")
    if reference is None:
        assert not content, f"{method['id']} has no response schema but answered {content[:200]!r}"
        return
    validate(api, reference, json.loads(content))


class ValidatingHttp:
    """An http object for ``build()`` that validates every response against the discovery doc."""

    def __init__(self, http: Any) -> None:
        self.http = http

    @property
    def credentials(self) -> Any:  # googleapiclient looks for it (refresh before batches)
        return getattr(self.http, "credentials", None)

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, **kwargs: Any):
        response, content = self.http.request(uri, method=method, body=body, headers=headers, **kwargs)
        check_response(method, uri, response.status, content)
        return response, content
