"""Graph mail: mail folders, messages (list, get, update, delete, move) and the per-folder
messages delta. Sending is in ``send``; every list, get and delta page is a read of the mailbox
that Sent Items copies held back by ``sent_items_lag`` count (``mailboxes.settle_sent_copies``).

Page sizes: message lists default to 10 (``$top`` up to 1000); the messages delta defaults to 10 per
page (``Prefer: odata.maxpagesize`` or ``$top`` up to 1000). ``/messages/delta`` without a folder is
refused, as on the real service.
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/user-list-mailfolders
# Reference: https://learn.microsoft.com/en-us/graph/api/user-list-messages
# Reference: https://learn.microsoft.com/en-us/graph/api/message-delta

from __future__ import annotations

from typing import Any

from integrations.sandbox.microsoft import mailboxes
from integrations.sandbox.microsoft.graph import delta, errors, odata
from integrations.sandbox.microsoft.graph.filters import FilterError, matches, parse_filter
from integrations.sandbox.microsoft.graph.pipeline import Target
from integrations.sandbox.microsoft.items import html_to_text
from integrations.sandbox.microsoft.times import parse
from integrations.sandbox.routing import Request, Response, empty_response, json_response
from integrations.sandbox.state import SandboxState

USER = r"/graph/v1\.0/(?:me|users/(?P<user>[^/]+))"
MESSAGE_FIELDS = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime",
    "sentDateTime", "hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance",
    "parentFolderId", "conversationId", "conversationIndex", "isDeliveryReceiptRequested",
    "isReadReceiptRequested", "isRead", "isDraft", "webLink", "inferenceClassification", "body",
    "sender", "from", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "flag",
)  # fmt: skip
FILTERABLE = ("receivedDateTime", "sentDateTime", "lastModifiedDateTime", "createdDateTime",
              "internetMessageId", "conversationId", "subject", "isRead", "isDraft",
              "from/emailAddress/address", "sender/emailAddress/address", "parentFolderId")  # fmt: skip
FOLDER_FIELDS = ("id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount",
                 "sizeInBytes", "isHidden")  # fmt: skip
PATCHABLE = frozenset({"isRead", "categories", "flag", "importance", "inferenceClassification", "subject"})
MESSAGE_TYPE = "microsoft.graph.message"


def routes() -> list[tuple[str, str, Any, str]]:
    """(method, path, handler, permission needed) — all mailbox routes."""
    return [
        ("GET", rf"{USER}/mailFolders", list_folders, "mail.read"),
        ("GET", rf"{USER}/mailFolders/(?P<folder>[^/]+)/messages/delta", messages_delta, "mail.read"),
        ("GET", rf"{USER}/mailFolders/(?P<folder>[^/]+)/messages", list_messages, "mail.read"),
        ("GET", rf"{USER}/mailFolders/(?P<folder>[^/]+)/childFolders", child_folders, "mail.read"),
        ("GET", rf"{USER}/mailFolders/(?P<folder>[^/]+)", get_folder, "mail.read"),
        ("GET", rf"{USER}/messages/delta", unsupported_delta, "mail.read"),
        ("GET", rf"{USER}/messages", list_messages, "mail.read"),
        ("GET", rf"{USER}/messages/(?P<message>[^/]+)", get_message, "mail.read"),
        ("PATCH", rf"{USER}/messages/(?P<message>[^/]+)", patch_message, "mail.write"),
        ("DELETE", rf"{USER}/messages/(?P<message>[^/]+)", delete_message, "mail.write"),
        ("POST", rf"{USER}/messages/(?P<message>[^/]+)/move", move_message, "mail.write"),
    ]


# --- folders ----------------------------------------------------------------------------------


def _folder_json(
    box: mailboxes.Mailbox, folder_id: str, counts: dict[str, tuple[int, int]]
) -> dict[str, Any]:
    total, unread = counts.get(folder_id, (0, 0))
    return {**box.folders[folder_id], "totalItemCount": total, "unreadItemCount": unread,
            "sizeInBytes": total * 2048}  # fmt: skip


def _counts(box: mailboxes.Mailbox) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = {}
    for message in box.messages.values():
        entry = counts.setdefault(message["parentFolderId"], [0, 0])
        entry[0] += 1
        entry[1] += 0 if message["isRead"] else 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


def list_folders(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    counts = _counts(box)
    folders = [_folder_json(box, folder_id, counts) for folder_id in box.folders]
    return odata.page(request, folders, fragment=f"users('{target.user.id}')/mailFolders",  # type: ignore[union-attr]
                      select=None, default=10, maximum=1000)  # fmt: skip


def get_folder(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    folder_id = box.folder_id(request.params["folder"])
    if folder_id is None:
        return errors.item_not_found(request)
    body = {
        "@odata.context": odata.context(request, "mailFolders/$entity"),
        **_folder_json(box, folder_id, _counts(box)),
    }
    return json_response(200, body)


def child_folders(request: Request, state: SandboxState, target: Target) -> Response:
    if target.mailbox.folder_id(request.params["folder"]) is None:
        return errors.item_not_found(request)
    return odata.collection(request, fragment="mailFolders", value=[])


# --- messages ---------------------------------------------------------------------------------


def _text_bodies(request: Request) -> bool:
    return odata.prefer(request).get("outlook.body-content-type", "").lower() == "text"


def as_text(message: dict[str, Any]) -> dict[str, Any]:
    body = message.get("body") or {}
    if body.get("contentType") != "html":
        return message
    return {**message, "body": {"contentType": "text", "content": html_to_text(body.get("content", ""))}}


def list_messages(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    mailboxes.settle_sent_copies(target.store, box)
    folder_key = request.params.get("folder")
    folder_id = box.folder_id(folder_key) if folder_key else None
    if folder_key and folder_id is None:
        return errors.item_not_found(request)
    select = odata.selection(request, MESSAGE_FIELDS, "Microsoft.OutlookServices.Message")
    if isinstance(select, Response):
        return select
    items = [m for m in box.messages.values() if folder_id is None or m["parentFolderId"] == folder_id]
    raw_filter = request.query_param("$filter")
    if raw_filter:
        try:
            clauses = parse_filter(raw_filter, FILTERABLE)
        except FilterError:
            return errors.bad_request(request, "The query filter contains one or more invalid nodes.",
                                      code="ErrorInvalidUrlQueryFilter")  # fmt: skip
        items = [m for m in items if matches(m, clauses)]
    order = (request.query_param("$orderby") or "receivedDateTime desc").strip().lower()
    items.sort(key=lambda m: (m["_received"], m["id"]), reverse=not order.endswith(" asc"))
    return odata.page(request, items, fragment=f"users('{target.user.id}')/messages",  # type: ignore[union-attr]
                      select=select, default=10, maximum=1000,
                      decorate=as_text if _text_bodies(request) else None)  # fmt: skip


def get_message(request: Request, state: SandboxState, target: Target) -> Response:
    mailboxes.settle_sent_copies(target.store, target.mailbox)
    message = target.mailbox.messages.get(request.params["message"])
    if message is None:
        return errors.item_not_found(request)
    select = odata.selection(request, MESSAGE_FIELDS, "Microsoft.OutlookServices.Message")
    if isinstance(select, Response):
        return select
    shown = as_text(message) if _text_bodies(request) else message
    body = {"@odata.context": odata.context(request, "messages/$entity"), **odata.render(shown, select)}
    return json_response(200, body)


def patch_message(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    if request.params["message"] not in box.messages:
        return errors.item_not_found(request)
    changes = request.json()
    if not isinstance(changes, dict) or not set(changes) <= PATCHABLE:
        unknown = sorted(set(changes or {}) - PATCHABLE) if isinstance(changes, dict) else ["(body)"]
        return errors.bad_request(request, f"The property '{unknown[0]}' cannot be updated here.",
                                  code="ErrorInvalidPropertyRequest")  # fmt: skip
    message = mailboxes.update_message(target.store, box, request.params["message"], changes)
    return json_response(
        200, {"@odata.context": odata.context(request, "messages/$entity"), **odata.render(message, None)}
    )


def delete_message(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    if request.params["message"] not in box.messages:
        return errors.item_not_found(request)
    # Graph's DELETE moves the item to Recoverable Items: it leaves every visible folder.
    mailboxes.remove_message(target.store, box, request.params["message"])
    return empty_response(204)


def move_message(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    if request.params["message"] not in box.messages:
        return errors.item_not_found(request)
    body = request.json()
    destination = (
        box.folder_id(str((body or {}).get("destinationId") or "")) if isinstance(body, dict) else None
    )
    if destination is None:
        return errors.graph_error(request, 400, "ErrorInvalidIdMalformed", "Id is malformed.")
    new_id = mailboxes.move_message(target.store, box, request.params["message"], destination)
    return json_response(201, {"@odata.context": odata.context(request, "messages/$entity"),
                               **odata.render(box.messages[new_id], None)})  # fmt: skip


# --- delta ------------------------------------------------------------------------------------


def unsupported_delta(request: Request, state: SandboxState, target: Target) -> Response:
    return errors.bad_request(
        request, "Unsupported request: Change tracking is not supported against 'microsoft.graph.message'."
    )


def messages_delta(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    mailboxes.settle_sent_copies(target.store, box)
    folder_id = box.folder_id(request.params["folder"])
    if folder_id is None:
        return errors.item_not_found(request)
    query = _delta_query(request)
    if isinstance(query, Response):
        return query
    cap = target.store.options.delta_filter_max_messages

    def initial(params: dict[str, Any]) -> list[str]:
        found = [
            m for m in box.messages.values() if m["parentFolderId"] == folder_id and _in_window(m, params)
        ]
        found.sort(key=lambda m: (m["_received"], m["id"]), reverse=True)
        if params.get("since") is not None:
            found = found[:cap]
        return [m["id"] for m in found]

    def present(message_id: str, params: dict[str, Any]) -> dict[str, Any] | None:
        message = box.messages.get(message_id)
        if message is None or message["parentFolderId"] != folder_id:
            return None
        return message if _in_window(message, params) else None

    collection = delta.Collection(
        kind="message",
        scope=f"{box.user_id}:{folder_id}",
        initial=initial,  # type: ignore[arg-type]
        changed=box.folder_logs[folder_id].changed,
        present=present,  # type: ignore[arg-type]
    )
    url_params = {k: v[0] for k, v in request.query.items() if v and k not in ("$skiptoken", "$deltatoken")}
    return delta.run(request, target.store, collection, query=query, url_params=url_params,
                     transform=as_text if _text_bodies(request) else None)  # fmt: skip


def _delta_query(request: Request) -> dict[str, Any] | Response:
    select = odata.selection(request, MESSAGE_FIELDS, "Microsoft.OutlookServices.Message")
    if isinstance(select, Response):
        return select
    problem = odata.top_or_error(request)
    if problem is not None:
        return problem
    query: dict[str, Any] = {"select": list(select) if select is not None else None}
    top = request.query_param("$top")
    if top:
        query["top"] = int(top)
    raw_filter = request.query_param("$filter")
    if raw_filter:
        try:
            clauses = parse_filter(raw_filter, ("receivedDateTime",))
        except FilterError:
            clauses = []
        if len(clauses) != 1 or clauses[0].op not in ("ge", "gt") or parse(clauses[0].value) is None:
            return errors.bad_request(
                request,
                "The query filter contains one or more invalid nodes. Only 'receivedDateTime ge|gt "
                "{value}' is supported on a messages delta.",
                code="ErrorInvalidUrlQueryFilter",
            )
        when = parse(clauses[0].value)
        query["since"] = when.timestamp()  # type: ignore[union-attr]
        query["strict"] = clauses[0].op == "gt"
    return query


def _in_window(message: dict[str, Any], params: dict[str, Any]) -> bool:
    since = params.get("since")
    if since is None:
        return True
    return message["_received"] > since if params.get("strict") else message["_received"] >= since
