"""Batch requests: ``POST /google/batch/gmail/v1`` (and the calendar/people/directory batch paths)
with a ``multipart/mixed`` body of ``application/http`` parts, exactly as
``googleapiclient.http.BatchHttpRequest`` sends them. Each part runs through the same route code
as a direct call — its own token check, scopes and quota — and the answer is ``multipart/mixed``
with one ``Content-ID: <response-…>`` part per request, in order.
"""

# Reference: https://developers.google.com/workspace/gmail/api/guides/batch

from __future__ import annotations

import email.policy
import http
import re
import secrets
from collections.abc import Sequence
from email.message import Message
from email.parser import BytesParser, Parser
from urllib.parse import parse_qs, urlsplit

from integrations.sandbox.google.errors import GoogleApiError
from integrations.sandbox.routing import Handler, Request, Response, json_response
from integrations.sandbox.state import SandboxState

MAX_PARTS = 100
BATCH_PATH = r"/google/batch(?:/(?:gmail/v1|calendar/v3|people/v1|admin/directory_v1))?"
Route = tuple[str, re.Pattern[str], Handler]


def make_handler(routes: Sequence[Route]) -> Handler:
    def batch(request: Request, state: SandboxState) -> Response:
        if request.content_type != "multipart/mixed":
            return GoogleApiError(400, "badContent", "Batch requests must be multipart/mixed.").response()
        envelope = BytesParser(policy=email.policy.compat32).parsebytes(
            b"Content-Type: "
            + (request.header("Content-Type") or "").encode("latin-1")
            + b"\r\n\r\n"
            + request.body
        )
        parts = envelope.get_payload()
        if not envelope.is_multipart() or not isinstance(parts, list) or not parts:
            return GoogleApiError(400, "badContent", "Batch request contains no parts.").response()
        if len(parts) > MAX_PARTS:
            return GoogleApiError(
                400, "badRequest", f"A batch request cannot contain more than {MAX_PARTS} requests."
            ).response()
        boundary = "batch_" + secrets.token_hex(12)
        chunks = []
        for part in parts:
            answer = _answer(part, request, state, routes)
            content_id = (part.get("Content-ID") or "").strip()
            inner_id = (
                content_id[1:-1] if content_id.startswith("<") and content_id.endswith(">") else content_id
            )
            chunks.append(
                f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <response-{inner_id}>\r\n\r\n"
                + _serialise(answer)
            )
        body = "\r\n".join(chunks) + f"\r\n--{boundary}--\r\n"
        return Response(
            status=200,
            body=body.encode("utf-8"),
            headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
        )

    return batch


def _answer(part: Message, outer: Request, state: SandboxState, routes: Sequence[Route]) -> Response:
    text = part.get_payload(decode=False)
    if not isinstance(text, str) or part.get_content_type() != "application/http":
        return GoogleApiError(400, "badContent", "Each batch part must be application/http.").response()
    request_line, _, rest = text.lstrip("\r\n").partition("\n")
    pieces = request_line.strip().split(" ")
    if len(pieces) < 2:
        return GoogleApiError(400, "badContent", "Malformed request line in batch part.").response()
    method, target = pieces[0].upper(), urlsplit(pieces[1])
    inner = Parser(policy=email.policy.compat32).parsestr(rest)
    payload = inner.get_payload()
    inner_request = Request(
        method=method,
        path=target.path,
        query=parse_qs(target.query, keep_blank_values=True),
        headers=inner,
        body=payload.encode("utf-8") if isinstance(payload, str) and payload.strip() else b"",
        base_url=outer.base_url,
    )
    for route_method, pattern, handler in routes:
        matched = pattern.fullmatch(target.path)
        if matched and route_method == method:
            inner_request.params = matched.groupdict()
            return handler(inner_request, state)
    return json_response(404, {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}})


def _serialise(response: Response) -> str:
    phrase = http.HTTPStatus(response.status).phrase
    headers = "".join(f"{name}: {value}\r\n" for name, value in response.headers.items())
    return f"HTTP/1.1 {response.status} {phrase}\r\n{headers}\r\n{response.body.decode('utf-8')}"
