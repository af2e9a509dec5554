"""The invitee's side: open the emailed link, set a password, start in the workspace."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from copilot.forms import SetPasswordForm
from copilot.services.invitations import InvitationUnusable, invitation_accept, invitation_from_token


@never_cache
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_from_token(token)
    except InvitationUnusable as exc:
        return render(request, "copilot/invitation_unusable.html", {"reason": exc.reason}, status=410)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(token=token, password=form.cleaned_data["password1"])
        except ValidationError as exc:
            form.add_error("password1", exc.messages)
        except InvitationUnusable as exc:
            return render(request, "copilot/invitation_unusable.html", {"reason": exc.reason}, status=410)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, f"Welcome to {invitation.organization.name}! Let's set up your account."
            )
            return redirect("copilot:onboarding")
    return render(request, "copilot/invitation_accept.html", {"invitation": invitation, "form": form})
