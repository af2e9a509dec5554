"""Request and response types, JSON helpers and the router every sandbox provider registers on.

Deliberately tiny and dependency-free: a route is an HTTP method plus a path regex (matched in
full, named groups become ``request.params``) and a handler ``(request, state) -> Response``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from integrations.sandbox.state import SandboxState


class BadRequestBody(ValueError):
    """The body could not be parsed as the type the handler asked for."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # case-insensitive (an email.message.Message from http.server)
    body: bytes
    base_url: str  # scheme://host[:port] the client used, for building absolute URLs in replies
    params: dict[str, str] = field(default_factory=dict)

    def query_param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        value = self.headers.get(name)
        return default if value is None else value

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise BadRequestBody(f"invalid JSON body: {exc}") from exc

    def form(self) -> dict[str, str]:
        """The urlencoded body as a flat dict (first value wins), as OAuth token endpoints read it."""
        try:
            parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError as exc:
            raise BadRequestBody(f"invalid form body: {exc}") from exc
        return {key: values[0] for key, values in parsed.items()}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode("utf-8")
    return Response(
        status=status,
        body=body,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def empty_response(status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status=status, headers=dict(headers or {}))


def text_response(status: int, text: str, content_type: str = "text/plain") -> Response:
    return Response(
        status=status,
        body=text.encode("utf-8"),
        headers={"Content-Type": f"{content_type}; charset=utf-8"},
    )


Handler = Callable[[Request, "SandboxState"], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    provider: str  # which provider owns it: picks the shape of injected fault bodies


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


class Router:
    """First registered match wins; the control API registers before the providers."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, path: str, handler: Handler, *, provider: str) -> None:
        self._routes.append(
            Route(
                method=method.upper(),
                pattern=re.compile(path),
                handler=handler,
                provider=provider,
            )
        )

    def route(self, method: str, path: str, *, provider: str) -> Callable[[Handler], Handler]:
        """Decorator form of ``add``."""

        def register(handler: Handler) -> Handler:
            self.add(method, path, handler, provider=provider)
            return handler

        return register

    def resolve(self, method: str, path: str) -> Match | None:
        for route in self._routes:
            matched = route.pattern.fullmatch(path)
            if matched and route.method == method:
                return Match(route=route, params=matched.groupdict())
        return None

    def allowed_methods(self, path: str) -> list[str]:
        return sorted({r.method for r in self._routes if r.pattern.fullmatch(path)})

    def owner(self, path: str) -> str | None:
        """The provider whose routes cover ``path`` (any method), if any."""
        for route in self._routes:
            if route.pattern.fullmatch(path):
                return route.provider
        return None
