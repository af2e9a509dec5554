"""Python client for the sandbox control API (``/_sandbox/``), used by tests and seed scripts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

TIMEOUT_SECONDS = 10


class SandboxControl:
    def __init__(self, url: str, ca_path: Path | str) -> None:
        self.url = url.rstrip("/")
        self._ca_path = str(ca_path)
        self._session = requests.Session()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def reset(self) -> None:
        """Drop all provider data, faults and the request log; re-seed the demo data."""
        self._call("POST", "reset")

    def seed(self, provider: str, data: Mapping[str, Any]) -> None:
        """Merge ``data`` into ``provider``'s state (each provider documents what it accepts)."""
        self._call("POST", "seed", json={"provider": provider, "data": dict(data)})

    def inject_fault(
        self,
        path: str,
        *,
        status: int | None = None,
        method: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        times: int | None = 1,
        delay_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Make the next ``times`` requests whose path matches the regex ``path`` fail.

        ``status`` answers with that code (``body`` as JSON, else the provider's usual error body);
        ``delay_seconds`` waits first (alone: a slow but normal answer, to exercise timeouts);
        ``times=None`` keeps the fault until ``clear_faults``.
        """
        spec: dict[str, Any] = {"path": path, "times": times}
        if status is not None:
            spec["status"] = status
        if method is not None:
            spec["method"] = method
        if headers:
            spec["headers"] = dict(headers)
        if body is not None:
            spec["body"] = body
        if delay_seconds:
            spec["delay_seconds"] = delay_seconds
        return self._call("POST", "faults", json=spec)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Logged provider requests, oldest first; ``path`` keeps those whose path contains it."""
        entries = self._call("GET", "requests")["requests"]
        return [e for e in entries if path is None or path in e["path"]]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def _call(self, method: str, endpoint: str, **kwargs: Any) -> Any:
        response = self._session.request(
            method,
            f"{self.url}/_sandbox/{endpoint}",
            # Per request, not session.verify: REQUESTS_CA_BUNDLE in the environment overrides the
            # latter (psf/requests#3829), and CI machines set it.
            verify=self._ca_path,
            timeout=TIMEOUT_SECONDS,
            **kwargs,
        )
        if response.status_code >= 400:
            raise SandboxControlError(
                f"{method} /_sandbox/{endpoint}: {response.status_code} {response.text}"
            )
        return response.json()


class SandboxControlError(RuntimeError):
    """The control API refused a request (bad fault spec, unknown provider, …)."""
