"""The HTML of the sandbox's Google sign-in and consent screen, and its error page.

It says plainly that it is the Cadence provider sandbox, not Google, lists the requested scopes,
and lets the person pick which seeded Workspace user signs in (there are no passwords here).

Form (POST to the same path): hidden inputs carry the authorize parameters; the radio ``email``
picks the user; the submit buttons are ``decision=allow`` ("Allow") and ``decision=deny`` ("Deny").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from integrations.sandbox.google.store import User
from integrations.sandbox.routing import Response, text_response

AUTHORIZE_PATH = "/google/o/oauth2/v2/auth"

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; color: #1b1f24; }}
.banner {{ background: #fff4ce; border: 1px solid #e5c07b; padding: .75rem 1rem; border-radius: 6px; }}
label {{ display: block; padding: .4rem 0; }}
code {{ font-size: .9em; }}
button {{ margin-right: .5rem; padding: .5rem 1.2rem; }}
</style></head>
<body>
<p class="banner"><strong>Cadence provider sandbox</strong> &mdash; this is a local emulator for
development and tests. It is not Google, and nothing you do here reaches a real Google account.</p>
{body}
</body>
</html>
"""


def consent_page(
    *,
    app_name: str,
    domain: str,
    users: Sequence[User],
    selected: str,
    scopes: Sequence[str],
    params: Mapping[str, str],
) -> Response:
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    )
    choices = "\n".join(
        f'<label><input type="radio" name="email" value="{escape(u.email)}"'
        f"{' checked' if u.email == selected else ''}> {escape(u.full_name)} &lt;{escape(u.email)}&gt;"
        f"{' &middot; administrator' if u.is_admin else ''}</label>"
        for u in users
    )
    scope_items = "\n".join(f"<li><code>{escape(scope)}</code></li>" for scope in scopes)
    body = f"""<h1>Sign in to continue to {escape(app_name)}</h1>
<form method="post" action="{AUTHORIZE_PATH}">
{hidden}
<fieldset><legend>Choose an account of {escape(domain)}</legend>
{choices}
</fieldset>
<p><strong>{escape(app_name)}</strong> wants access to your Google Account:</p>
<ul class="scopes">
{scope_items}
</ul>
<p><button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></p>
</form>"""
    return text_response(
        200,
        PAGE.format(title="Cadence provider sandbox — Google sign-in", body=body),
        content_type="text/html",
    )


def error_page(error: str, message: str, status: int = 400) -> Response:
    body = f"<h1>Access blocked: this request is invalid</h1>\n<p>Error {status}: {escape(error)}</p>\n<p>{escape(message)}</p>"
    return text_response(
        status, PAGE.format(title="Cadence provider sandbox — error", body=body), content_type="text/html"
    )
