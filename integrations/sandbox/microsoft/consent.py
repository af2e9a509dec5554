"""The HTML pages of the sandbox's Microsoft sign-in: user consent, tenant-wide admin consent,
"Need admin approval", and the error page Entra shows instead of redirecting.

They say plainly that this is the Cadence provider sandbox, not Microsoft, and let the person pick
which seeded user signs in: there are no passwords in the sandbox. Form fields (for browser tests):
radio ``user`` (value = userPrincipalName) and the submit buttons ``decision=accept`` ("Accept")
and ``decision=cancel`` ("Cancel"); the form posts back to the page's own path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from integrations.sandbox.microsoft.directory import DIRECTORY_ROLES, Tenant, User
from integrations.sandbox.routing import Response, text_response

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; color: #1b1f24; }}
.banner {{ background: #fff4ce; border: 1px solid #e5c07b; padding: .75rem 1rem; border-radius: 6px; }}
label {{ display: block; padding: .4rem 0; }}
li {{ padding: .15rem 0; }}
button {{ margin-right: .5rem; padding: .5rem 1.2rem; }}
</style></head>
<body>
<p class="banner"><strong>Cadence provider sandbox</strong> &mdash; this is a local emulator for
development and tests. It is not Microsoft, and nothing you do here reaches a real
Microsoft 365 organization.</p>
{body}
</body>
</html>
"""


def consent_page(
    *,
    heading: str,
    intro: str,
    action: str,
    users: Sequence[User],
    tenants: Mapping[str, Tenant],
    selected: str,
    permissions: Sequence[tuple[str, str]],
    params: Mapping[str, str],
    note: str = "",
) -> Response:
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    )
    choices = "\n".join(
        f'<label><input type="radio" name="user" value="{escape(u.user_principal_name)}"'
        f"{' checked' if u.user_principal_name.lower() == selected.lower() else ''}> "
        f"{escape(u.display_name)} &lt;{escape(u.user_principal_name)}&gt;"
        f"{''.join(f' &middot; {escape(DIRECTORY_ROLES[r][0])}' for r in u.role_template_ids if r in DIRECTORY_ROLES)}"
        f"{_tenant_suffix(u, tenants)}</label>"
        for u in users
    )
    listed = "\n".join(
        f"<li><strong>{escape(description)}</strong> <code>{escape(name)}</code></li>"
        for name, description in permissions
    )
    body = f"""<h1>{escape(heading)}</h1>
<p>{intro}</p>
<h2>Permissions requested</h2>
<ul>
{listed}
</ul>
<form method="post" action="{escape(action)}">
{hidden}
<fieldset><legend>Sign in as</legend>
{choices}
</fieldset>
{f"<p>{escape(note)}</p>" if note else ""}
<p><button type="submit" name="decision" value="accept">Accept</button>
<button type="submit" name="decision" value="cancel">Cancel</button></p>
</form>"""
    return _page("Cadence provider sandbox — Microsoft sign-in", body)


def need_admin_approval_page(*, app_name: str, user: User) -> Response:
    body = f"""<h1>Need admin approval</h1>
<p><strong>{escape(app_name)}</strong> needs permission to access resources in your organization
that only an admin can grant. Please ask an admin to grant permission to this app before you can
use it.</p>
<p>Signed in as {escape(user.display_name)} &lt;{escape(user.user_principal_name)}&gt;, who is not
a Global Administrator of this sandbox tenant.</p>"""
    return _page("Cadence provider sandbox — Need admin approval", body)


def error_page(code: int, message: str, status: int = 400) -> Response:
    body = (
        "<h1>Sorry, but we're having trouble signing you in.</h1>\n"
        f'<p class="error">AADSTS{code}: {escape(message)}</p>'
    )
    return _page("Cadence provider sandbox — sign-in error", body, status=status)


def form_post_page(action: str, fields: Mapping[str, str]) -> Response:
    """``response_mode=form_post``: the browser posts the answer to the redirect URI."""
    inputs = "\n".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    body = f"""<form method="post" action="{escape(action)}" id="answer">
{inputs}
<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.getElementById("answer").submit();</script>"""
    return _page("Cadence provider sandbox — continuing", body)


def _tenant_suffix(user: User, tenants: Mapping[str, Tenant]) -> str:
    if len(tenants) < 2:
        return ""
    tenant = tenants.get(user.tenant_id)
    return f" &middot; {escape(tenant.display_name)}" if tenant else ""


def _page(title: str, body: str, status: int = 200) -> Response:
    return text_response(status, PAGE.format(title=escape(title), body=body), content_type="text/html")
