"""Graph contacts: the default Contacts folder (``/contacts``), its child contact folders
(``/contactFolders``), and a contacts delta per folder (``/contactFolders/{id}/contacts/delta``,
the default folder by its id or the well-known name ``contacts``). ``/contacts/delta`` is not a
documented path: like ``/messages/delta`` and ``/calendar/events/delta`` it answers 400 (change
tracking is only offered per folder).

Page sizes: contact lists default to 10 (``$top`` up to 1000); contacts delta defaults to 10 per page
(``Prefer: odata.maxpagesize`` up to 1000).
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/user-list-contacts
# Reference: https://learn.microsoft.com/en-us/graph/api/user-list-contactfolders
# Reference: https://learn.microsoft.com/en-us/graph/api/contact-delta

from __future__ import annotations

from typing import Any

from integrations.sandbox.microsoft.graph import delta, errors, odata
from integrations.sandbox.microsoft.graph.pipeline import Target
from integrations.sandbox.microsoft.mailboxes import Mailbox
from integrations.sandbox.routing import Request, Response, json_response
from integrations.sandbox.state import SandboxState

USER = r"/graph/v1\.0/(?:me|users/(?P<user>[^/]+))"
CONTACT_FIELDS = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "parentFolderId",
    "birthday", "fileAs", "displayName", "givenName", "initials", "middleName", "nickName", "surname",
    "title", "yomiGivenName", "yomiSurname", "yomiCompanyName", "generation", "imAddresses", "jobTitle",
    "companyName", "department", "officeLocation", "profession", "businessHomePage", "assistantName",
    "manager", "homePhones", "mobilePhone", "businessPhones", "spouseName", "personalNotes", "children",
    "emailAddresses", "homeAddress", "businessAddress", "otherAddress",
)  # fmt: skip
CONTACT_TYPE = "Microsoft.OutlookServices.Contact"


def routes() -> list[tuple[str, str, Any, str]]:
    return [
        ("GET", rf"{USER}/contacts/delta", unsupported_delta, "contacts.read"),
        ("GET", rf"{USER}/contacts", list_contacts, "contacts.read"),
        ("GET", rf"{USER}/contacts/(?P<contact>[^/]+)", get_contact, "contacts.read"),
        ("GET", rf"{USER}/contactFolders", list_folders, "contacts.read"),
        ("GET", rf"{USER}/contactFolders/(?P<folder>[^/]+)/contacts/delta", contacts_delta, "contacts.read"),
        ("GET", rf"{USER}/contactFolders/(?P<folder>[^/]+)/contacts", list_contacts, "contacts.read"),
        ("GET", rf"{USER}/contactFolders/(?P<folder>[^/]+)/childFolders", child_folders, "contacts.read"),
        ("GET", rf"{USER}/contactFolders/(?P<folder>[^/]+)", get_folder, "contacts.read"),
    ]


def unsupported_delta(request: Request, state: SandboxState, target: Target) -> Response:
    # Reference: https://learn.microsoft.com/en-us/graph/api/contact-delta (HTTP request: only
    # /me|/users/{id}/contactFolders/{id}/contacts/delta); the answer Graph gives to delta on an
    # Outlook collection outside a folder: https://github.com/microsoftgraph/msgraph-metadata/issues/608
    return errors.bad_request(
        request, "Unsupported request: Change tracking is not supported against 'microsoft.graph.contact'."
    )


def _folder(box: Mailbox, request: Request) -> str | None:
    key = request.params.get("folder")
    if key is None:
        return box.default_contacts
    if key == box.default_contacts or key in box.contact_folders:
        return key
    return None


def list_folders(request: Request, state: SandboxState, target: Target) -> Response:
    select = odata.selection(
        request, ("id", "parentFolderId", "displayName"), "Microsoft.OutlookServices.ContactFolder"
    )
    if isinstance(select, Response):
        return select
    box = target.mailbox
    return odata.page(request, list(box.contact_folders.values()), fragment=f"users('{box.user_id}')/contactFolders",
                      select=select, default=10, maximum=1000)  # fmt: skip


def get_folder(request: Request, state: SandboxState, target: Target) -> Response:
    folder = target.mailbox.contact_folders.get(request.params["folder"])
    if folder is None:
        return errors.item_not_found(request)
    return json_response(200, {"@odata.context": odata.context(request, "contactFolders/$entity"), **folder})


def child_folders(request: Request, state: SandboxState, target: Target) -> Response:
    if _folder(target.mailbox, request) is None:
        return errors.item_not_found(request)
    return odata.collection(request, fragment="contactFolders", value=[])


def list_contacts(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    folder_id = _folder(box, request)
    if folder_id is None:
        return errors.item_not_found(request)
    select = odata.selection(request, CONTACT_FIELDS, CONTACT_TYPE)
    if isinstance(select, Response):
        return select
    found = [c for c in box.contacts.values() if c["parentFolderId"] == folder_id]
    found.sort(key=lambda c: (c["displayName"].lower(), c["id"]))
    return odata.page(request, found, fragment=f"users('{target.user.id}')/contacts", select=select,  # type: ignore[union-attr]
                      default=10, maximum=1000)  # fmt: skip


def get_contact(request: Request, state: SandboxState, target: Target) -> Response:
    contact = target.mailbox.contacts.get(request.params["contact"])
    if contact is None:
        return errors.item_not_found(request)
    select = odata.selection(request, CONTACT_FIELDS, CONTACT_TYPE)
    if isinstance(select, Response):
        return select
    return json_response(
        200, {"@odata.context": odata.context(request, "contacts/$entity"), **odata.render(contact, select)}
    )


def contacts_delta(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    folder_id = _folder(box, request)
    if folder_id is None:
        return errors.item_not_found(request)
    select = odata.selection(request, CONTACT_FIELDS, CONTACT_TYPE)
    if isinstance(select, Response):
        return select

    def initial(params: dict[str, Any]) -> list[str]:
        return [c["id"] for c in box.contacts.values() if c["parentFolderId"] == folder_id]

    def present(contact_id: str, params: dict[str, Any]) -> dict[str, Any] | None:
        contact = box.contacts.get(contact_id)
        return contact if contact is not None and contact["parentFolderId"] == folder_id else None

    collection = delta.Collection(kind="contact", scope=f"{box.user_id}:{folder_id}", initial=initial,  # type: ignore[arg-type]
                                  changed=box.contact_logs[folder_id].changed, present=present)  # type: ignore[arg-type]  # fmt: skip
    query = {"select": list(select) if select is not None else None}
    url_params = {k: v[0] for k, v in request.query.items() if v and k not in ("$skiptoken", "$deltatoken")}
    return delta.run(request, target.store, collection, query=query, url_params=url_params)
