"""Gmail API v1 routes: profile, labels, messages (list/get/send/modify/trash/delete), threads and
history, as ``googleapiclient.discovery.build("gmail", "v1")`` calls them under ``/google/``.
"""

# Reference: https://developers.google.com/workspace/gmail/api/reference/rest

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from integrations.sandbox.google import mime
from integrations.sandbox.google.api import ApiRoute, acting_user, has_only, json_body
from integrations.sandbox.google.discovery import method_scopes
from integrations.sandbox.google.errors import GoogleApiError, forbidden, invalid_argument, not_found
from integrations.sandbox.google.mailbox import HIDDEN_IN_LIST, HistoryRecord, Label, Mailbox, MailMessage
from integrations.sandbox.google.paging import BadToken, decode_token, encode_token, int_param
from integrations.sandbox.google.search import BadQuery, parse_query
from integrations.sandbox.google.sending import send_message
from integrations.sandbox.google.store import AccessGrant, GoogleStore
from integrations.sandbox.routing import Request, Response, empty_response, json_response

T = TypeVar("T")
USER = r"/google/gmail/v1/users/(?P<user>[^/]+)"
FORMATS = ("minimal", "full", "raw", "metadata")
HISTORY_TYPES = {
    "messageAdded": "messagesAdded",
    "messageDeleted": "messagesDeleted",
    "labelAdded": "labelsAdded",
    "labelRemoved": "labelsRemoved",
}


def routes() -> list[ApiRoute]:
    return [
        ApiRoute("GET", rf"{USER}/profile", "gmail.users.getProfile", get_profile),
        ApiRoute("GET", rf"{USER}/labels", "gmail.users.labels.list", list_labels),
        ApiRoute("POST", rf"{USER}/labels", "gmail.users.labels.create", create_label),
        ApiRoute("GET", rf"{USER}/labels/(?P<id>[^/]+)", "gmail.users.labels.get", get_label),
        ApiRoute("GET", rf"{USER}/messages", "gmail.users.messages.list", list_messages),
        ApiRoute("POST", rf"{USER}/messages/send", "gmail.users.messages.send", send),
        ApiRoute("GET", rf"{USER}/messages/(?P<id>[^/]+)", "gmail.users.messages.get", get_message),
        ApiRoute("DELETE", rf"{USER}/messages/(?P<id>[^/]+)", "gmail.users.messages.delete", delete_message),
        ApiRoute("POST", rf"{USER}/messages/(?P<id>[^/]+)/modify", "gmail.users.messages.modify", modify),
        ApiRoute("POST", rf"{USER}/messages/(?P<id>[^/]+)/trash", "gmail.users.messages.trash", trash),
        ApiRoute("POST", rf"{USER}/messages/(?P<id>[^/]+)/untrash", "gmail.users.messages.untrash", untrash),
        ApiRoute("GET", rf"{USER}/threads", "gmail.users.threads.list", list_threads),
        ApiRoute("GET", rf"{USER}/threads/(?P<id>[^/]+)", "gmail.users.threads.get", get_thread),
        ApiRoute("GET", rf"{USER}/history", "gmail.users.history.list", list_history),
    ]


def _mailbox(request: Request, store: GoogleStore, grant: AccessGrant) -> Mailbox:
    return store.mailbox(acting_user(store, grant, request.params["user"]).email)


def _message(mailbox: Mailbox, message_id: str) -> MailMessage:
    message = mailbox.messages.get(message_id)
    if message is None:
        raise not_found()
    return message


# ---- profile and labels ----------------------------------------------------------------------
def get_profile(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    return json_response(
        200,
        {
            "emailAddress": mailbox.email,
            "messagesTotal": len(mailbox.messages),
            "threadsTotal": len(mailbox.threads),
            "historyId": str(mailbox.history_id),
        },
    )


def label_json(label: Label, mailbox: Mailbox | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": label.id, "name": label.name, "type": label.type}
    if label.message_list_visibility:
        body["messageListVisibility"] = label.message_list_visibility
    if label.label_list_visibility:
        body["labelListVisibility"] = label.label_list_visibility
    if label.color:
        body["color"] = label.color
    if mailbox is not None:
        messages = [m for m in mailbox.messages.values() if label.id in m.label_ids]
        unread = [m for m in messages if "UNREAD" in m.label_ids]
        body.update(
            messagesTotal=len(messages),
            messagesUnread=len(unread),
            threadsTotal=len({m.thread_id for m in messages}),
            threadsUnread=len({m.thread_id for m in unread}),
        )
    return body


def list_labels(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    return json_response(200, {"labels": [label_json(label) for label in mailbox.labels.values()]})


def get_label(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    label = mailbox.labels.get(request.params["id"])
    if label is None:
        raise not_found()
    return json_response(200, label_json(label, mailbox))


def create_label(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    body = json_body(request)
    name = str(body.get("name") or "").strip()
    if not name:
        raise invalid_argument("Invalid label name")
    if any(label.name.lower() == name.lower() for label in mailbox.labels.values()):
        raise GoogleApiError(409, "duplicate", "Label name exists or conflicts")
    label = mailbox.create_label(
        name,
        message_list_visibility=body.get("messageListVisibility"),
        label_list_visibility=body.get("labelListVisibility"),
    )
    if isinstance(body.get("color"), dict):
        label.color = body["color"]
    return json_response(200, label_json(label))


# ---- messages --------------------------------------------------------------------------------
def message_json(message: MailMessage, fmt: str = "full", metadata_headers: list[str] | None = None) -> dict:
    body: dict[str, Any] = {"id": message.id, "threadId": message.thread_id}
    if message.label_ids:
        body["labelIds"] = list(message.label_ids)
    body.update(
        snippet=message.snippet,
        sizeEstimate=message.size_estimate,
        historyId=str(message.history_id),
        internalDate=str(message.internal_date),
    )
    if fmt == "metadata":
        wanted = {h.lower() for h in metadata_headers or ()}
        headers = [{"name": k, "value": v} for k, v in message.headers if not wanted or k.lower() in wanted]
        body["payload"] = {"mimeType": _mime_type(message), "headers": headers}
    elif fmt == "full":
        body["payload"] = mime.payload(mime.parse_fast(message.raw_bytes()))
    elif fmt == "raw":
        body["raw"] = mime.b64url(message.raw_bytes())
    return body


def _mime_type(message: MailMessage) -> str:
    if message.raw is None:
        return "multipart/alternative" if message.html else "text/plain"
    content_type = (message.header("content-type") or "text/plain").split(";")[0].strip().lower()
    return content_type or "text/plain"


def _format(request: Request, grant: AccessGrant, method_id: str) -> str:
    fmt = (request.query_param("format") or "full").lower()
    if fmt not in FORMATS:
        raise invalid_argument(f"Invalid value for format: {fmt}")
    if fmt in ("full", "raw") and has_only(grant, "gmail.metadata", method_scopes(method_id)):
        raise forbidden(f"Metadata scope doesn't allow format {fmt.upper()}")
    return fmt


def get_message(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    fmt = _format(request, grant, "gmail.users.messages.get")
    message = _message(mailbox, request.params["id"])
    return json_response(200, message_json(message, fmt, request.query.get("metadataHeaders")))


def _listing(
    request: Request, store: GoogleStore, grant: AccessGrant, mailbox: Mailbox, method_id: str
) -> tuple[Callable[[MailMessage], bool], int]:
    q = request.query_param("q") or ""
    if q and has_only(grant, "gmail.metadata", method_scopes(method_id)):
        raise forbidden("Metadata scope does not support 'q' parameter")
    try:
        query = parse_query(q, mailbox, store.clock.now())
    except BadQuery as exc:
        raise invalid_argument(f"Invalid query: {exc}") from exc
    label_ids = request.query.get("labelIds") or []
    include_spam_trash = (request.query_param("includeSpamTrash") or "").lower() == "true"
    hidden = () if include_spam_trash or query.includes_spam_trash else HIDDEN_IN_LIST
    hidden = tuple(h for h in hidden if h not in label_ids)

    def matches(message: MailMessage) -> bool:
        labels = message.label_ids
        return (
            all(label in labels for label in label_ids)
            and not any(label in labels for label in hidden)
            and query.matches(message)
        )

    try:
        size = int_param(request.query_param("maxResults"), default=100, maximum=500)
    except ValueError as exc:
        raise invalid_argument(str(exc)) from exc
    return matches, size


def _page(
    items: list[T], key: Callable[[T], tuple], request: Request, size: int
) -> tuple[list[T], str | None]:
    """Resume after the key the page token names; a next token when more remain."""
    token = request.query_param("pageToken")
    if token:
        try:
            after = tuple(decode_token(token)["k"])
        except (BadToken, KeyError, TypeError) as exc:
            raise invalid_argument("Invalid pageToken") from exc
        items = [item for item in items if key(item) < after]
    page = items[:size]
    next_token = encode_token({"k": list(key(page[-1]))}) if len(items) > size else None
    return page, next_token


def list_messages(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    matches, size = _listing(request, store, grant, mailbox, "gmail.users.messages.list")
    found = [m for m in mailbox.ordered() if matches(m)]
    page, next_token = _page(found, lambda m: (m.internal_date, m.id), request, size)
    body: dict[str, Any] = {}
    if page:
        body["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in page]
    if next_token:
        body["nextPageToken"] = next_token
    body["resultSizeEstimate"] = len(found)
    return json_response(200, body)


def send(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    user = acting_user(store, grant, request.params["user"])
    body = json_body(request)
    raw = body.get("raw")
    if not raw:
        raise invalid_argument(
            "'raw' RFC822 payload message string or uploading message via /upload/* URL required"
        )
    try:
        data = mime.b64url_decode(str(raw))
    except ValueError as exc:
        raise invalid_argument("Invalid raw payload") from exc
    message = send_message(store, user, data, thread_id=body.get("threadId"))
    return json_response(
        200, {"id": message.id, "threadId": message.thread_id, "labelIds": list(message.label_ids)}
    )


def _label_ids(mailbox: Mailbox, values: Any) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise invalid_argument("Invalid label list")
    for label in values:
        if label not in mailbox.labels:
            raise invalid_argument(f"Invalid label: {label}")
    return [str(v) for v in values]


def modify(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    message = _message(mailbox, request.params["id"])
    body = json_body(request)
    mailbox.modify(
        message, _label_ids(mailbox, body.get("addLabelIds")), _label_ids(mailbox, body.get("removeLabelIds"))
    )
    return json_response(200, message_json(message, "minimal"))


def trash(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    message = _message(mailbox, request.params["id"])
    mailbox.modify(message, ["TRASH"], ["INBOX", "SPAM"])
    return json_response(200, message_json(message, "minimal"))


def untrash(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    message = _message(mailbox, request.params["id"])
    mailbox.modify(message, [], ["TRASH"])
    return json_response(200, message_json(message, "minimal"))


def delete_message(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    _message(mailbox, request.params["id"])
    mailbox.delete_message(request.params["id"])
    return empty_response(204)


# ---- threads ---------------------------------------------------------------------------------
def list_threads(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    matches, size = _listing(request, store, grant, mailbox, "gmail.users.threads.list")
    seen: dict[str, MailMessage] = {}
    for message in mailbox.ordered():  # newest first: a thread's first hit is its newest message
        if message.thread_id not in seen and matches(message):
            seen[message.thread_id] = message
    found = list(seen.values())
    page, next_token = _page(found, lambda m: (m.internal_date, m.id), request, size)
    body: dict[str, Any] = {}
    if page:
        body["threads"] = [
            {"id": m.thread_id, "snippet": m.snippet, "historyId": str(_thread_history(mailbox, m.thread_id))}
            for m in page
        ]
    if next_token:
        body["nextPageToken"] = next_token
    body["resultSizeEstimate"] = len(found)
    return json_response(200, body)


def _thread_history(mailbox: Mailbox, thread_id: str) -> int:
    return max(m.history_id for m in mailbox.thread_messages(thread_id))


def get_thread(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    fmt = _format(request, grant, "gmail.users.threads.get")
    if fmt == "raw":
        raise invalid_argument("Invalid value for format: raw")
    messages = sorted(mailbox.thread_messages(request.params["id"]), key=lambda m: (m.internal_date, m.id))
    if not messages:
        raise not_found()
    headers = request.query.get("metadataHeaders")
    return json_response(
        200,
        {
            "id": request.params["id"],
            "historyId": str(max(m.history_id for m in messages)),
            "messages": [message_json(m, fmt, headers) for m in messages],
        },
    )


# ---- history ---------------------------------------------------------------------------------
def list_history(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    mailbox = _mailbox(request, store, grant)
    start_text = request.query_param("startHistoryId")
    if not start_text:
        raise invalid_argument("Missing startHistoryId")
    try:
        start = int(start_text)
    except ValueError as exc:
        raise invalid_argument("Invalid startHistoryId") from exc
    if start < mailbox.oldest_history_id:
        # Gmail: an out-of-date start id "typically returns an HTTP 404"; the client must full-sync.
        raise not_found()
    types = request.query.get("historyTypes") or []
    unknown = [t for t in types if t not in HISTORY_TYPES]
    if unknown:
        raise invalid_argument(f"Invalid historyTypes: {unknown[0]}")
    label = request.query_param("labelId")
    try:
        size = int_param(request.query_param("maxResults"), default=100, maximum=500)
    except ValueError as exc:
        raise invalid_argument(str(exc)) from exc
    records = [
        r
        for r in mailbox.history_since(start)
        if (not types or r.kind in types) and (not label or label in r.label_ids or label in r.changed)
    ]
    page, next_token = _page(records, lambda r: (-r.id,), request, size)
    body: dict[str, Any] = {}
    if page:
        body["history"] = [_history_json(record) for record in page]
    if next_token:
        body["nextPageToken"] = next_token
    body["historyId"] = str(mailbox.history_id)
    return json_response(200, body)


def _history_json(record: HistoryRecord) -> dict[str, Any]:
    message: dict[str, Any] = {"id": record.message_id, "threadId": record.thread_id}
    if record.label_ids:
        message["labelIds"] = list(record.label_ids)
    change: dict[str, Any] = {"message": message}
    if record.kind in ("labelAdded", "labelRemoved"):
        change["labelIds"] = list(record.changed)
    return {
        "id": str(record.id),
        "messages": [{"id": record.message_id, "threadId": record.thread_id}],
        HISTORY_TYPES[record.kind]: [change],
    }
