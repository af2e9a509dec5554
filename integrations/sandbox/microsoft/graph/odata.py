"""OData query options and collection responses as Graph serves them: ``$select``, ``$top``,
``Prefer: odata.maxpagesize``, ``@odata.context``, and ``@odata.nextLink`` paging (``$skip`` on
Outlook lists, an opaque ``$skiptoken`` on directory lists)."""

# Reference: https://learn.microsoft.com/en-us/graph/query-parameters
# Reference: https://learn.microsoft.com/en-us/graph/paging

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from integrations.sandbox.microsoft.graph.errors import bad_request
from integrations.sandbox.routing import Request, Response, json_response

VERSION_PATH = "/graph/v1.0"
ALWAYS_SELECTED = ("@odata.type", "@odata.etag", "id")


def base(request: Request) -> str:
    return f"{request.base_url}{VERSION_PATH}"


def context(request: Request, fragment: str) -> str:
    return f"{base(request)}/$metadata#{fragment}"


def prefer(request: Request) -> dict[str, str]:
    """``Prefer`` preferences, keys lower-cased: ``odata.maxpagesize=50, outlook.body-content-type="text"``."""
    found: dict[str, str] = {}
    for header in (request.header("Prefer") or "").split(","):
        name, _, value = header.strip().partition("=")
        if name:
            found[name.strip().lower()] = value.strip().strip('"')
    return found


def page_size(request: Request, *, default: int, maximum: int) -> tuple[int, dict[str, str]]:
    """``Prefer: odata.maxpagesize`` first, then ``$top``, else the route's default."""
    wanted = prefer(request).get("odata.maxpagesize")
    if wanted and wanted.isdigit() and int(wanted) > 0:
        size = min(int(wanted), maximum)
        return size, {"Preference-Applied": f"odata.maxpagesize={size}"}
    top = request.query_param("$top")
    if top and top.isdigit() and int(top) > 0:
        return min(int(top), maximum), {}
    return default, {}


def top_or_error(request: Request) -> Response | None:
    top = request.query_param("$top")
    if top is not None and not top.isdigit():
        return bad_request(request, f"Invalid value '{top}' for $top query option found.")
    return None


def selection(request: Request, allowed: Iterable[str], type_name: str) -> tuple[str, ...] | Response | None:
    raw = request.query_param("$select")
    if raw is None:
        return None
    fields = tuple(dict.fromkeys(f.strip() for f in raw.split(",") if f.strip()))
    known = {name.lower(): name for name in allowed}
    chosen: list[str] = []
    for name in fields:
        canonical = known.get(name.lower())
        if canonical is None:
            return bad_request(
                request,
                f"Could not find a property named '{name}' on type '{type_name}'.",
                code="RequestBroker--ParseUri",
            )
        chosen.append(canonical)
    return tuple(chosen)


def render(item: Mapping[str, Any], select: Sequence[str] | None) -> dict[str, Any]:
    if select is None:
        return {k: v for k, v in item.items() if not k.startswith("_")}
    shown = {k: item[k] for k in ALWAYS_SELECTED if k in item}
    shown.update((k, item.get(k)) for k in select)
    return shown


def collection(
    request: Request,
    *,
    fragment: str,
    value: list[dict[str, Any]],
    next_link: str | None = None,
    delta_link: str | None = None,
    count: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"@odata.context": context(request, fragment)}
    if count is not None:
        body["@odata.count"] = count
    if next_link:
        body["@odata.nextLink"] = next_link
    body["value"] = value
    if delta_link:
        body["@odata.deltaLink"] = delta_link
    return json_response(200, body, headers=headers)


def link(request: Request, drop: Iterable[str] = (), **params: str) -> str:
    """This request's URL with some query options replaced (``skip="10"`` → ``$skip=10``)."""
    query = {k: v[0] for k, v in request.query.items() if v and k not in drop}
    for key in drop:
        query.pop(key, None)
    for key, value in params.items():
        query[f"${key}"] = value
    encoded = urlencode(query, quote_via=quote, safe="$,'()=:")
    return f"{request.base_url}{request.path}" + (f"?{encoded}" if encoded else "")


def page(
    request: Request,
    items: Sequence[Mapping[str, Any]],
    *,
    fragment: str,
    select: Sequence[str] | None,
    default: int,
    maximum: int,
    opaque: bool = False,
    decorate: Any = None,
) -> Response:
    """One page of ``items``: ``$skip`` paging (Outlook) or opaque ``$skiptoken`` (directory)."""
    problem = top_or_error(request)
    if problem is not None:
        return problem
    size, headers = page_size(request, default=default, maximum=maximum)
    if opaque:
        offset = decode_offset(request.query_param("$skiptoken"))
        if offset is None:
            return bad_request(request, "Invalid paging token.", code="Request_BadRequest")
    else:
        raw = request.query_param("$skip") or "0"
        if not raw.isdigit():
            return bad_request(request, f"Invalid value '{raw}' for $skip query option found.")
        offset = int(raw)
    chunk = items[offset : offset + size]
    value = [render(decorate(item) if decorate else item, select) for item in chunk]
    more = offset + size < len(items)
    next_link = None
    if more:
        if opaque:
            next_link = link(request, drop=("$top",), top=str(size), skiptoken=encode_offset(offset + size))
        else:
            next_link = link(request, drop=("$top",), top=str(size), skip=str(offset + size))
    count = len(items) if (request.query_param("$count") or "").lower() == "true" else None
    return collection(
        request, fragment=fragment, value=value, next_link=next_link, count=count, headers=headers
    )


def encode_offset(offset: int) -> str:
    raw = json.dumps({"o": offset}).encode()
    return "RFNwdAoAAQ" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_offset(token: str | None) -> int | None:
    if not token:
        return 0
    try:
        raw = token.removeprefix("RFNwdAoAAQ")
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return int(data["o"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
