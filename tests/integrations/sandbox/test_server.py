"""The sandbox framework: certificates, TLS, the control API, faults and the request log."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from integrations.sandbox.certs import ensure_certificates
from integrations.sandbox.control import SandboxControl, SandboxControlError
from integrations.sandbox.microsoft.demo import DEMO_TENANT_ID
from integrations.sandbox.provider import SandboxProvider, SeedError
from integrations.sandbox.routing import Request, Response, Router, json_response
from integrations.sandbox.server import start_sandbox
from integrations.sandbox.state import SandboxState

DISCOVERY = f"/{DEMO_TENANT_ID}/v2.0/.well-known/openid-configuration"


def get(sandbox: Any, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(f"{sandbox.url}{path}", verify=str(sandbox.ca_path), timeout=10, **kwargs)


# --- Certificates -----------------------------------------------------------------------------


def test_it_generates_a_ca_that_signs_a_loopback_server_certificate(tmp_path: Path) -> None:
    paths = ensure_certificates(tmp_path / "certs")

    ca = x509.load_pem_x509_certificate(paths.ca.read_bytes())
    cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
    assert ca.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca is True
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert stat.S_IMODE(os.stat(paths.key).st_mode) == 0o600
    assert not list((tmp_path / "certs").glob("*ca-key*")), "the CA key is never written"


def test_it_reuses_valid_certificates_on_the_next_start(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path)
    before = first.ca.read_bytes(), first.cert.read_bytes(), first.key.read_bytes()

    second = ensure_certificates(tmp_path)

    assert (second.ca.read_bytes(), second.cert.read_bytes(), second.key.read_bytes()) == before


def test_it_regenerates_certificates_that_no_longer_belong_together(tmp_path: Path) -> None:
    paths = ensure_certificates(tmp_path)
    old_ca = paths.ca.read_bytes()
    ensure_certificates(tmp_path / "other").ca.replace(paths.ca)  # a CA that did not sign server.pem

    ensure_certificates(tmp_path)

    new_ca = x509.load_pem_x509_certificate(paths.ca.read_bytes())
    x509.load_pem_x509_certificate(paths.cert.read_bytes()).verify_directly_issued_by(new_ca)
    assert paths.ca.read_bytes() != old_ca


# --- TLS --------------------------------------------------------------------------------------


def test_it_serves_https_that_its_ca_verifies(sandbox: Any) -> None:
    assert sandbox.url.startswith("https://localhost:")
    assert get(sandbox, "/_sandbox/health").json()["providers"] == ["google", "microsoft", "salesforce"]


def test_it_is_not_trusted_by_a_client_without_its_ca(sandbox: Any) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{sandbox.url}/_sandbox/health", verify=True, timeout=10)


def test_it_refuses_plain_http(sandbox: Any) -> None:
    plain = sandbox.url.replace("https://", "http://")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{plain}/_sandbox/health", timeout=10)
    assert get(sandbox, "/_sandbox/health").ok, "a refused client does not disturb the server"


def test_it_only_listens_on_loopback(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        start_sandbox("0.0.0.0", 0, tmp_path)


def test_it_answers_unknown_routes_and_methods_like_an_api(sandbox: Any) -> None:
    assert get(sandbox, "/no/such/route").status_code == 404
    wrong_method = requests.delete(f"{sandbox.url}{DISCOVERY}", verify=sandbox.ca_path, timeout=10)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "GET"


# --- Control API: seed and reset --------------------------------------------------------------

CONTOSO = {
    "tenants": [{"id": "11111111-2222-3333-4444-555555555555", "domain": "contoso.example"}],
    "apps": [
        {
            "client_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "tenant_id": "11111111-2222-3333-4444-555555555555",
            "client_secret": "contoso-secret",
        }
    ],
}


def test_seeding_merges_data_into_a_provider(sandbox: Any) -> None:
    sandbox.control.seed("microsoft", CONTOSO)

    assert get(sandbox, "/contoso.example/v2.0/.well-known/openid-configuration").ok
    assert get(sandbox, DISCOVERY).ok, "the demo tenant is still there"


def test_reset_forgets_seeded_data_faults_and_logged_requests(sandbox: Any) -> None:
    sandbox.control.seed("microsoft", CONTOSO)
    sandbox.control.inject_fault("/v2.0/", status=500, times=None)
    get(sandbox, "/anything")

    sandbox.control.reset()

    assert get(sandbox, "/contoso.example/v2.0/.well-known/openid-configuration").status_code == 400
    assert get(sandbox, DISCOVERY).ok
    assert sandbox.control.faults() == []
    assert "/anything" not in [r["path"] for r in sandbox.control.requests()]


def test_seeding_refuses_unknown_providers_and_malformed_data(sandbox: Any) -> None:
    with pytest.raises(SandboxControlError, match="unknown provider"):
        sandbox.control.seed("myspace", {})
    with pytest.raises(SandboxControlError, match="unknown tenant"):
        sandbox.control.seed("microsoft", {"apps": [{"client_id": "x", "tenant_id": "nope"}]})


# --- Control API: faults ----------------------------------------------------------------------


def test_a_fault_answers_the_next_n_matching_requests_then_stops(sandbox: Any) -> None:
    sandbox.control.inject_fault(r"/openid-configuration$", status=429, headers={"Retry-After": "2"}, times=2)

    answers = [get(sandbox, DISCOVERY) for _ in range(3)]

    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "2"
    assert sandbox.control.faults() == []


def test_a_fault_uses_the_given_body_or_the_providers_error_shape(sandbox: Any) -> None:
    sandbox.control.inject_fault("openid", status=503, body={"error": "custom"})
    sandbox.control.inject_fault("openid", status=503)

    assert get(sandbox, DISCOVERY).json() == {"error": "custom"}
    shaped = get(sandbox, DISCOVERY).json()
    assert shaped["error"] == "temporarily_unavailable"
    assert shaped["error_codes"] == [90033]


def test_a_fault_can_be_limited_to_one_method(sandbox: Any) -> None:
    sandbox.control.inject_fault("openid", status=500, method="POST")

    assert get(sandbox, DISCOVERY).status_code == 200
    assert len(sandbox.control.faults()) == 1


def test_a_delay_fault_slows_a_normal_answer_down(sandbox: Any) -> None:
    sandbox.control.inject_fault("openid", delay_seconds=0.3)

    started = time.monotonic()
    response = get(sandbox, DISCOVERY)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_delay_longer_than_the_client_waits_is_a_timeout(sandbox: Any) -> None:
    sandbox.control.inject_fault("openid", delay_seconds=1.5, status=200, body={})

    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{sandbox.url}{DISCOVERY}", verify=sandbox.ca_path, timeout=0.3)


def test_clearing_faults_drops_those_still_pending(sandbox: Any) -> None:
    sandbox.control.inject_fault("openid", status=500, times=None)

    sandbox.control.clear_faults()

    assert get(sandbox, DISCOVERY).status_code == 200


def test_control_requests_are_never_faulted_nor_logged(sandbox: Any) -> None:
    sandbox.control.inject_fault(".", status=500, times=None)

    assert sandbox.control.health()["ok"] is True
    assert sandbox.control.requests() == []


def test_an_invalid_fault_is_refused(sandbox: Any) -> None:
    with pytest.raises(SandboxControlError, match="status"):
        sandbox.control.inject_fault("openid")
    with pytest.raises(SandboxControlError, match="regex"):
        sandbox.control.inject_fault("(", status=500)


# --- Control API: request log -----------------------------------------------------------------


def test_the_request_log_shows_what_the_client_sent_without_credentials(sandbox: Any) -> None:
    requests.post(
        f"{sandbox.url}/{DEMO_TENANT_ID}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_secret": "s3cret", "scope": "x/.default"},
        headers={"Authorization": "Bearer abc.def", "X-Trace": "t-1"},
        verify=sandbox.ca_path,
        timeout=10,
    )

    (entry,) = sandbox.control.requests("/oauth2/v2.0/token")
    assert entry["method"] == "POST"
    assert entry["headers"]["Authorization"] == "Bearer [redacted]"
    assert entry["headers"]["X-Trace"] == "t-1"
    assert entry["body"]["scope"] == "x/.default"
    assert entry["body"]["client_secret"] == "[redacted]"
    assert "s3cret" not in str(sandbox.control.requests())
    assert "abc.def" not in str(sandbox.control.requests())


# --- Extending the sandbox with a provider ----------------------------------------------------


class EchoProvider(SandboxProvider):
    """A minimal provider, written the way a real provider package plugs in."""

    name = "echo"

    def register_routes(self, router: Router) -> None:
        router.add("GET", r"/echo/(?P<key>\w+)", self.read, provider=self.name)

    def seed_defaults(self, state: SandboxState) -> None:
        state.store("echo", dict).update({"greeting": "hello"})

    def seed(self, state: SandboxState, data: Mapping[str, Any]) -> None:
        if not all(isinstance(v, str) for v in data.values()):
            raise SeedError("echo values must be strings")
        state.store("echo", dict).update(data)

    def fault_body(self, request: Request, status: int) -> Response | None:
        return json_response(status, {"echo_error": status})

    def read(self, request: Request, state: SandboxState) -> Response:
        value = state.store("echo", dict).get(request.params["key"])
        return json_response(200 if value else 404, {"value": value})


def test_a_provider_registers_routes_seeds_state_and_shapes_faults(tmp_path: Path) -> None:
    server = start_sandbox("127.0.0.1", 0, tmp_path, providers=[EchoProvider()])
    try:
        control = SandboxControl(server.url, server.ca_path)
        assert get(server, "/echo/greeting").json() == {"value": "hello"}

        control.seed("echo", {"farewell": "bye"})
        assert get(server, "/echo/farewell").json() == {"value": "bye"}

        control.inject_fault("/echo/", status=429)
        assert get(server, "/echo/greeting").json() == {"echo_error": 429}

        control.reset()
        assert get(server, "/echo/farewell").status_code == 404
    finally:
        server.stop()


def test_two_sandboxes_on_free_ports_keep_separate_state(tmp_path: Path) -> None:
    first = start_sandbox("127.0.0.1", 0, tmp_path, providers=[EchoProvider()])
    second = start_sandbox("127.0.0.1", 0, tmp_path, providers=[EchoProvider()])
    try:
        assert first.url != second.url
        SandboxControl(first.url, first.ca_path).seed("echo", {"only": "first"})
        assert get(second, "/echo/only").status_code == 404
    finally:
        first.stop()
        second.stop()
