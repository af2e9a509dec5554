"""JSON batching: ``POST /graph/v1.0/$batch`` with up to 20 sub-requests, answered 200 with one
sub-response per request (``{"id", "status", "headers", "body"}``), ``dependsOn`` honoured.

Each sub-request runs through the same routes and checks as a direct call. Outlook runs at most
4 sub-requests of a mailbox at once, so a batch takes up to 4 of that mailbox's concurrency slots
while it runs; when none is free, that mailbox's sub-requests answer 429 inside the batch.
Injected faults (``/_sandbox/faults``) match the ``$batch`` request itself; to fault one
sub-request, seed ``graph_faults`` (they apply to direct and batched Graph requests alike).
"""

# Reference: https://learn.microsoft.com/en-us/graph/json-batching
# Reference: https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits

from __future__ import annotations

import json
import time
from collections import Counter
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.sandbox.microsoft.graph import errors
from integrations.sandbox.microsoft.graph.pipeline import IN_BATCH, throttle_key
from integrations.sandbox.microsoft.graph.throttle import Key, released, throttle
from integrations.sandbox.microsoft.mailboxes import mail_store
from integrations.sandbox.routing import BadRequestBody, Request, Response, Router, json_response
from integrations.sandbox.state import SandboxState

MAX_REQUESTS = 20
PARALLEL_PER_MAILBOX = 4
VERSION_ROOTS = ("https://graph.microsoft.com/v1.0", "/v1.0")


def batch_handler(routes: Router, mailbox_paths: set[str]) -> Any:
    """The ``$batch`` route, resolving sub-requests against ``routes`` (the Graph routes)."""

    def handle(request: Request, state: SandboxState) -> Response:
        try:
            payload = request.json()
        except BadRequestBody:
            payload = None
        entries = payload.get("requests") if isinstance(payload, dict) else None
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return errors.bad_request(request, "Invalid batch payload format.")
        if len(entries) > MAX_REQUESTS:
            return errors.bad_request(
                request, f"The number of batch requests exceeds the limit of {MAX_REQUESTS}."
            )
        ids = [str(e.get("id") or "") for e in entries]
        if "" in ids or len(set(ids)) != len(ids):
            return errors.bad_request(request, "Batch request ids must be present and unique.")
        subs = [_sub_request(request, e) for e in entries]
        keys: list[Key | None] = []
        for sub in subs:
            match = routes.resolve(sub.method, sub.path) if sub.path else None
            if match is not None and match.route.pattern.pattern in mailbox_paths:
                sub.params = dict(match.params)
                keys.append(throttle_key(sub, state))
            else:
                keys.append(None)
        admitted = _take_slots(state, keys)
        options = mail_store(state).options
        try:
            if options.latency_ms:
                with released(state.lock):
                    time.sleep(options.latency_ms / 1000)
            answers: dict[str, dict[str, Any]] = {}
            token = IN_BATCH.set(True)
            try:
                for entry, sub, key in zip(entries, subs, keys, strict=True):
                    answers[str(entry["id"])] = _answer(
                        routes, state, request, entry, sub, key, admitted, answers
                    )
            finally:
                IN_BATCH.reset(token)
        finally:
            book = throttle(state)
            for key, count in admitted.items():
                for _ in range(count):
                    book.leave(key)
        return json_response(200, {"responses": [answers[i] for i in ids]})

    return handle


def _take_slots(state: SandboxState, keys: list[Key | None]) -> dict[Key, int]:
    options = mail_store(state).options
    book = throttle(state)
    admitted: dict[Key, int] = {}
    for key, wanted in Counter(k for k in keys if k is not None).items():
        got = 0
        for _ in range(min(wanted, PARALLEL_PER_MAILBOX, options.mailbox_concurrency)):
            if (
                book.enter(key, concurrency=options.mailbox_concurrency, budget=options.mailbox_limit)
                is not None
            ):
                break
            got += 1
        admitted[key] = got
    return admitted


def _answer(
    routes: Router, state: SandboxState, outer: Request, entry: dict[str, Any], sub: Request,
    key: Key | None, admitted: dict[Key, int], answers: dict[str, dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    entry_id = str(entry["id"])
    depends = entry.get("dependsOn") or []
    if any(answers.get(str(d), {}).get("status", 500) >= 400 for d in depends):
        failed = errors.graph_error(outer, 424, "FailedDependency", "The dependent request failed.")
        return _as_sub_response(entry_id, failed)
    if not sub.path:
        return _as_sub_response(entry_id, errors.bad_request(outer, "Invalid request URL in batch."))
    if key is not None and admitted.get(key, 0) == 0:
        refused = errors.throttled(
            outer, message="Application is over its MailboxConcurrency limit.", retry_after=1
        )
        return _as_sub_response(entry_id, refused)
    match = routes.resolve(sub.method, sub.path)
    if match is None:
        segment = sub.path.rstrip("/").rpartition("/")[2]
        return _as_sub_response(
            entry_id, errors.bad_request(outer, f"Resource not found for the segment '{segment}'.")
        )
    sub.params = dict(match.params)
    return _as_sub_response(entry_id, match.route.handler(sub, state))


def _sub_request(outer: Request, entry: dict[str, Any]) -> Request:
    url = str(entry.get("url") or "")
    for root in VERSION_ROOTS:
        if url.startswith(root):
            url = url[len(root) :]
    target = urlsplit("/" + url.lstrip("/"))
    headers = Message()
    for name in ("Authorization", "client-request-id"):
        if outer.header(name):
            headers[name] = outer.header(name)
    sub_headers = entry.get("headers") if isinstance(entry.get("headers"), dict) else {}
    for name, value in sub_headers.items():
        del headers[name]
        headers[name] = str(value)
    body = entry.get("body")
    if body is None:
        raw = b""
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = json.dumps(body).encode()
        if not headers.get("Content-Type"):
            headers["Content-Type"] = "application/json"
    return Request(
        method=str(entry.get("method") or "GET").upper(),
        path=f"/graph/v1.0{target.path}" if url else "",
        query=parse_qs(target.query, keep_blank_values=True),
        headers=headers,
        body=raw,
        base_url=outer.base_url,
    )


def _as_sub_response(entry_id: str, response: Response) -> dict[str, Any]:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    answer: dict[str, Any] = {"id": entry_id, "status": response.status, "headers": headers}
    if response.body:
        try:
            answer["body"] = json.loads(response.body)
        except ValueError:
            answer["body"] = response.body.decode("utf-8", "replace")
    return answer
