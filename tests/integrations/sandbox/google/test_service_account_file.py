"""The service-account key file the sandbox writes for Cadence's domain-wide delegation."""

from __future__ import annotations

import json
from pathlib import Path

from integrations.sandbox.google import GoogleSandbox
from integrations.sandbox.server import start_sandbox


def test_the_key_is_made_once_and_token_uri_follows_the_port(tmp_path: Path) -> None:
    first = start_sandbox("127.0.0.1", 0, tmp_path, providers=[GoogleSandbox()])
    try:
        before = json.loads(first.google_service_account_path.read_text())
    finally:
        first.stop()
    (tmp_path / "google-service-account.json").write_text(
        json.dumps({**before, "token_uri": "https://stale/token"})
    )
    second = start_sandbox("127.0.0.1", 0, tmp_path, providers=[GoogleSandbox()])
    try:
        after = json.loads(second.google_service_account_path.read_text())
        assert second.google_service_account_path == tmp_path / "google-service-account.json"
        assert after["token_uri"] == f"{second.url}/google/token"
        for field in ("private_key", "private_key_id", "client_id", "client_email"):
            assert after[field] == before[field]
    finally:
        second.stop()


def test_a_broken_key_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "google-service-account.json").write_text("{not json")
    server = start_sandbox("127.0.0.1", 0, tmp_path, providers=[GoogleSandbox()])
    try:
        info = json.loads(server.google_service_account_path.read_text())
        assert info["type"] == "service_account" and info["private_key"].startswith(
            "-----BEGIN PRIVATE KEY-----"
        )
    finally:
        server.stop()
