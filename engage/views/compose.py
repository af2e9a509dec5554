"""Compose and send one email from the app (B9, basic) through the seller's connected mailbox.

Opened from a contact, person or company page with ``?to=`` (and optionally ``?subject=``); after
sending it goes back where it came from (``?next=``, or the page that linked here). When sending
is not possible the form comes back with the reason and everything typed kept.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from copilot.tenancy import member_required
from engage.forms.compose import ComposeForm, body_html, outgoing_message
from engage.services.email import EmailNotSent, email_send, email_unavailable_reason
from engage.signatures import signature_html


def _safe_next(request: HttpRequest, url: str | None) -> str:
    """``url`` when it is a page of this site other than compose itself, else ""."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    if urlsplit(url).path == reverse("engage:compose"):
        return ""
    return url


def _recipients(addresses: list) -> str:
    return ", ".join(a.email for a in addresses)


def _send(request: HttpRequest, form: ComposeForm) -> bool:
    """Send the valid ``form``'s email; False (with the reason on the form) when it did not go."""
    data = form.cleaned_data
    message = outgoing_message(
        user=request.user, to=data["to"], cc=data["cc"], subject=data["subject"], body=data["body"]
    )
    try:
        email_send(user=request.user, message=message)
    except EmailNotSent as exc:
        form.add_error(None, str(exc))
    else:
        return True
    return False


@member_required
def compose(request: HttpRequest) -> HttpResponse:
    user = request.user
    preview = ""
    if request.method == "POST" and request.POST.get("action") == "preview":
        # Only a look at the message: nothing is checked yet, so nothing is flagged as missing.
        form = ComposeForm(initial={name: request.POST.get(name, "") for name in ComposeForm.base_fields})
        preview = body_html(request.POST.get("body", "").rstrip(), signature_html(user))
    elif request.method == "POST":
        form = ComposeForm(request.POST)
        if form.is_valid() and _send(request, form):
            data = form.cleaned_data
            messages.success(request, f"Email sent to {_recipients([*data['to'], *data['cc']])}.")
            return redirect(_safe_next(request, data["next"]) or reverse("engage:home"))
    else:
        form = ComposeForm(
            initial={
                "to": request.GET.get("to", "")[:2000],
                "subject": request.GET.get("subject", "")[:200],
                "next": _safe_next(request, request.GET.get("next") or request.headers.get("referer")),
            }
        )
    return render(
        request,
        "engage/compose.html",
        {
            "form": form,
            "signature": signature_html(user),
            "preview": preview,
            # A form coming back says why itself; a fresh one warns before anything is typed.
            "unavailable": "" if form.is_bound else email_unavailable_reason(user=user),
            "back": _safe_next(request, form["next"].value()),
        },
    )
