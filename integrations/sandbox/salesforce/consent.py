"""The HTML of the sandbox's OAuth consent screen and its error page.

It says plainly that it is the Cadence provider sandbox, not Salesforce, and lets the person pick
which seeded Salesforce user to sign in as: there are no passwords in the sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from integrations.sandbox.routing import Response, text_response
from integrations.sandbox.salesforce.store import Record

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; color: #1b1f24; }}
.banner {{ background: #fff4ce; border: 1px solid #e5c07b; padding: .75rem 1rem; border-radius: 6px; }}
label {{ display: block; padding: .4rem 0; }}
button {{ margin-right: .5rem; padding: .5rem 1.2rem; }}
</style></head>
<body>
<p class="banner"><strong>Cadence provider sandbox</strong> &mdash; this is a local emulator for
development and tests. It is not Salesforce, and nothing you do here reaches a real org.</p>
{body}
</body>
</html>
"""


def consent_page(*, app_name: str, org_name: str, users: Sequence[Record], selected: str,
                 params: Mapping[str, str]) -> Response:  # fmt: skip
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    )
    choices = "\n".join(
        f'<label><input type="radio" name="user_id" value="{escape(u["Id"])}"'
        f"{' checked' if u['Id'] == selected else ''}> {escape(_name(u))} "
        f"&lt;{escape(u['Username'])}&gt; &middot; {escape(u.get('Title') or '')}</label>"
        for u in users
    )
    body = f"""<h1>Allow access?</h1>
<p><strong>{escape(app_name)}</strong> is asking to access the <strong>{escape(org_name)}</strong>
sandbox org (scopes: api, refresh_token, id) as the user you pick below.</p>
<form method="post" action="/services/oauth2/authorize">
{hidden}
<fieldset><legend>Sign in as</legend>
{choices}
</fieldset>
<p><button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></p>
</form>"""
    return text_response(200, PAGE.format(title="Cadence provider sandbox — Salesforce sign-in", body=body),
                         content_type="text/html")  # fmt: skip


def error_page(message: str, status: int = 400) -> Response:
    body = f"<h1>Cannot start the sign-in</h1>\n<p>{escape(message)}</p>"
    return text_response(status, PAGE.format(title="Cadence provider sandbox — error", body=body),
                         content_type="text/html")  # fmt: skip


def _name(user: Record) -> str:
    return " ".join(p for p in (user.get("FirstName"), user.get("LastName")) if p)
