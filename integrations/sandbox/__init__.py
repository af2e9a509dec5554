"""Provider sandbox: a local HTTPS emulator of the Google, Microsoft and Salesforce APIs Cadence uses.

The product reaches it through the real client libraries, re-pointed by settings alone
(``MICROSOFT_LOGIN_URL``, ``PROVIDER_CA_BUNDLE``, …), so no product code path knows it is talking to
the sandbox. Layout:

- ``certs``: the self-signed CA and loopback server certificate (msal refuses plain http).
- ``routing``: request/response types, JSON helpers and the method + path-regex router.
- ``state``, ``faults``, ``request_log``: per-server data, injected failures, and what clients sent.
- ``state_file``: the state saved to a file and loaded at start (``run_sandbox``: under var/, so a
  restart keeps connections and cursors); tests' sandboxes stay in memory.
- ``server``: the HTTPS server (``start_sandbox``) and ``control_api`` under ``/_sandbox/``.
- ``control``: the Python client tests use to drive the control API.
- ``providers`` and ``<provider>/``: one sub-package per emulated provider.

It is never enabled in production settings.
"""
