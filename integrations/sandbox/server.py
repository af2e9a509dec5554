"""The sandbox's HTTPS server: stdlib ``ThreadingHTTPServer`` + ``ssl`` on a loopback address.

``start_sandbox`` runs it in a background thread (tests); ``SandboxServer.serve_forever`` runs it in
the foreground (``manage.py run_sandbox``). The TLS handshake happens in the per-connection thread,
so a client that connects and stalls (or speaks plain http) cannot block the accept loop.

Given a ``state_file`` (``run_sandbox`` passes ``SANDBOX_STATE_FILE``), the server loads the saved
state at start, saves it in the background while serving and once more on ``stop()``
(see ``state_file``); without one (tests) everything stays in memory. ``stop()`` also closes the
connections clients keep alive, so no request reaches the old state after the final save.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import socket
import ssl
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.sandbox.app import SandboxApp
from integrations.sandbox.certs import ensure_certificates, ensure_google_service_account
from integrations.sandbox.google import GoogleSandbox
from integrations.sandbox.provider import SandboxProvider
from integrations.sandbox.providers import default_providers
from integrations.sandbox.routing import Request, Response
from integrations.sandbox.state import SandboxState
from integrations.sandbox.state_file import StateFile, StateSaver

logger = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_SECONDS = 10
IDLE_CONNECTION_TIMEOUT_SECONDS = 30
MAX_BODY_BYTES = 50 * 1024 * 1024


class SandboxServer:
    """A running (or ready to run) sandbox; ``url`` is what settings point the clients at."""

    def __init__(self, httpd: _TLSServer, ca_path: Path) -> None:
        self._httpd = httpd
        self._thread: threading.Thread | None = None
        self._serving = False
        self.ca_path = ca_path
        self.port: int = httpd.server_address[1]
        # "localhost", not the IP: it is the name the certificate and the settings use.
        self.url = f"https://localhost:{self.port}"
        # Cadence's Google service-account key (GOOGLE_SERVICE_ACCOUNT_FILE), written by create_sandbox.
        self.google_service_account_path: Path | None = None
        # Where the state is saved (None: in memory only) and the thread that saves it.
        self.state_file: Path | None = None
        self.saver: StateSaver | None = None

    @property
    def app(self) -> SandboxApp:
        return self._httpd.app

    @property
    def state(self) -> SandboxState:
        return self._httpd.app.state

    def serve_forever(self) -> None:
        self._serving = True
        if self.saver is not None:
            self.saver.start()
        logger.info("sandbox.started", extra={"url": self.url, "ca_path": str(self.ca_path)})
        self._httpd.serve_forever(poll_interval=0.2)

    def start_in_thread(self) -> SandboxServer:
        self._serving = True  # before the thread runs, so an immediate stop() still waits for it
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"provider-sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._serving:  # shutdown() waits for a serve loop, and would wait forever without one
            self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.saver is not None:
            self.saver.stop()  # the final save
        logger.info("sandbox.stopped", extra={"url": self.url})


def create_sandbox(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    cert_dir: Path | str,
    providers: Sequence[SandboxProvider] | None = None,
    state_file: Path | str | None = None,
    fresh: bool = False,
) -> SandboxServer:
    """Bind the server (port 0 picks a free one) without serving yet.

    ``state_file``: load the state saved there (unless ``fresh``: start from the demo data and
    replace the file at the first save) and keep saving to it; None keeps everything in memory.
    """
    _require_loopback(host)
    paths = ensure_certificates(cert_dir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=paths.cert, keyfile=paths.key)
    app = SandboxApp(default_providers() if providers is None else providers)
    httpd = _TLSServer((host, port), _Handler, ssl_context=context, app=app)
    server = SandboxServer(httpd, ca_path=paths.ca)
    if state_file is not None:
        server.state_file = Path(state_file)
        file = StateFile(server.state_file)
        loaded = not fresh and file.load(app.state)
        server.saver = StateSaver(app.state, file)  # what it loaded counts as saved
        if not loaded:
            app.state.mark_changed()  # a new state: on disk within one save interval
    server.google_service_account_path = ensure_google_service_account(cert_dir, base_url=server.url)
    for provider in app.providers.values():
        if isinstance(provider, GoogleSandbox):
            # After the saved state is loaded: it is installed again, in case it changed (idempotent).
            info = json.loads(server.google_service_account_path.read_text(encoding="utf-8"))
            provider.trust_service_account(app.state, info)
    return server


def start_sandbox(
    host: str,
    port: int,
    cert_dir: Path | str,
    *,
    providers: Sequence[SandboxProvider] | None = None,
    state_file: Path | str | None = None,
) -> SandboxServer:
    """Start a sandbox in a background thread (port 0 picks a free port); ``.stop()`` when done."""
    server = create_sandbox(
        host=host, port=port, cert_dir=cert_dir, providers=providers, state_file=state_file
    )
    return server.start_in_thread()


def _require_loopback(host: str) -> None:
    """The sandbox accepts any credentials it seeded itself: never expose it beyond this machine."""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"The provider sandbox only listens on loopback, not {host!r}")


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up stop()

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        ssl_context: ssl.SSLContext,
        app: SandboxApp,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.ssl_context = ssl_context
        self.app = app
        self._connections: set[ssl.SSLSocket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def close_connections(self) -> None:
        """Hang up on every open (kept-alive) connection, so their threads stop serving."""
        with self._connections_lock:
            connections = list(self._connections)
        for tls in connections:
            # The plain socket's shutdown: SSLSocket.shutdown would also drop the TLS object under
            # the thread still reading from it. Its blocked read then ends.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(tls, socket.SHUT_RDWR)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
        # http.server writes headers and body separately; without NODELAY, Nagle plus the client's
        # delayed ACK adds ~40 ms to every response.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            # Plain http, an untrusting client hanging up, a port scanner: nothing to answer.
            logger.debug("sandbox.tls.refused", extra={"reason": str(exc)})
            return
        with self._connections_lock:
            self._connections.add(tls)
        try:
            tls.settimeout(IDLE_CONNECTION_TIMEOUT_SECONDS)
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError) as exc:
            logger.debug("sandbox.connection.dropped", extra={"reason": str(exc)})
        finally:
            with self._connections_lock:
                self._connections.discard(tls)
            tls.close()


class _Handler(BaseHTTPRequestHandler):
    server: _TLSServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the client libraries expect
    server_version = "CadenceProviderSandbox/1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return
        if length < 0 or length > MAX_BODY_BYTES:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        target = urlsplit(self.path)
        host = self.headers.get("Host") or f"localhost:{self.server.server_address[1]}"
        request = Request(
            method=self.command,
            path=target.path,
            query=parse_qs(target.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            base_url=f"https://{host}",
        )
        self._send(self.server.app.handle(request))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox.request", extra={"line": format % args})
