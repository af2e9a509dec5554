"""Microsoft Graph v1.0 under ``/graph/v1.0`` (``settings.MICROSOFT_GRAPH_URL = {sandbox}/graph``).

Every route goes through ``pipeline.graph_route``: throttling and latency, the bearer token the
identity routes issued, admin consent, the user the path names, permissions and access policies.
Modules: ``organization``/``users``/``groups`` (directory), ``batch`` (JSON batching), ``mail``/``send`` (messages, folders, delta, sendMail),
``calendar``, ``contacts``, ``mailbox_settings``; ``odata``/``filters``/``delta`` are the query
machinery; ``errors`` the error bodies; ``policy`` and ``throttle`` the access rules.
"""

from __future__ import annotations

from integrations.sandbox.microsoft.graph import (
    calendar,
    contacts,
    groups,
    mail,
    mailbox_settings,
    organization,
    send,
    users,
)
from integrations.sandbox.microsoft.graph.batch import batch_handler
from integrations.sandbox.microsoft.graph.pipeline import graph_route
from integrations.sandbox.routing import Handler, Router


def register_routes(router: Router, *, provider: str) -> None:
    graph_routes = Router()  # what $batch sub-requests resolve against
    mailbox_paths: set[str] = set()

    def add(method: str, path: str, handler: Handler) -> None:
        router.add(method, path, handler, provider=provider)
        graph_routes.add(method, path, handler, provider=provider)

    router.add("POST", r"/graph/v1\.0/\$batch", batch_handler(graph_routes, mailbox_paths), provider=provider)
    for module in (mail, send, calendar, contacts, mailbox_settings):
        for method, path, handler, need in module.routes():
            add(method, path, graph_route(handler, need=need, kind="mailbox"))
            mailbox_paths.add(path)
    for directory_module in (organization, groups, users):
        for method, path, handler, need, kind in directory_module.routes():
            add(method, path, graph_route(handler, need=need, kind=kind))
