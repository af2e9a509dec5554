"""Admin Portal › Revenue Intelligence: the Ignore and Block lists (B7), "Why wasn't this message
ingested?", and whether full email bodies are stored."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from copilot.intelligence import services
from copilot.intelligence.forms import MailRuleForm, StorageForm, WhyForm
from copilot.intelligence.rules import BLOCK
from copilot.models import MailRule
from copilot.tenancy import admin_required, org_object_or_404
from copilot.views.helpers import apply_validation_error


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


@admin_required
def rules(request: HttpRequest) -> HttpResponse:
    org = request.organization
    services.intelligence_settings_for(organization_id=org.pk)  # an organisation's defaults exist
    form = MailRuleForm(request.POST if request.POST.get("op") == "add" else None)
    if request.method == "POST" and request.POST.get("op") == "restore":
        added = services.mail_rules_restore_defaults(organization=org, actor=request.user)
        if added:
            messages.success(
                request, f"Put back {_count(added, 'default domain', 'default domains')} on the Ignore list."
            )
        else:
            messages.info(request, "Every default domain is already on a list.")
        return redirect("copilot:intelligence_rules")
    if form.is_bound and form.is_valid():
        value, action = form.cleaned_data["value"], form.cleaned_data["action"]
        try:
            if action == BLOCK:  # blocking removes data: confirm with the counts first
                value = services.mail_rule_validate(organization=org, value=value, action=BLOCK)
                query = urlencode({"value": value})
                return redirect(f"{reverse('copilot:intelligence_rule_block_confirm')}?{query}")
            rule = services.mail_rule_add_ignore(organization=org, actor=request.user, value=value)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"Added {rule.value} to the Ignore list.")
            return redirect("copilot:intelligence_rules")
    lists = services.mail_rules(organization=org)
    return render(
        request,
        "copilot/portal/intelligence/rules.html",
        {"form": form, "ignore_rules": lists["ignore"], "block_rules": lists["block"], "tab": "rules"},
    )


@admin_required
def rule_block_confirm(request: HttpRequest) -> HttpResponse:
    org = request.organization
    value = (request.POST if request.method == "POST" else request.GET).get("value", "")
    try:
        if request.method == "POST":
            rule, removed = services.mail_rule_add_block(
                organization=org, actor=request.user, value=value, confirmed=True
            )
            messages.success(
                request,
                f"Blocked {rule.value}. Removed {_count(removed.activities, 'activity', 'activities')} "
                f"and {_count(removed.people, 'person', 'people')}.",
            )
            return redirect("copilot:intelligence_rules")
        preview = services.mail_rule_block_preview(organization=org, value=value)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect("copilot:intelligence_rules")
    return render(
        request, "copilot/portal/intelligence/block_confirm.html", {"preview": preview, "tab": "rules"}
    )


@admin_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = org_object_or_404(request, MailRule, pk=rule_id)
    services.mail_rule_remove(rule=rule, actor=request.user)
    note = (
        " Mail already left out is not brought back; new mail from it will be."
        if rule.action == BLOCK
        else ""
    )
    messages.success(request, f"Removed {rule.value} from the {rule.get_action_display()} list.{note}")
    return redirect("copilot:intelligence_rules")


@admin_required
def why(request: HttpRequest) -> HttpResponse:
    form = WhyForm(request.GET if "sender" in request.GET else None)
    answer = None
    if form.is_bound and form.is_valid():
        answer = services.why_not_ingested(
            organization=request.organization,
            sender=form.cleaned_data["sender"],
            recipients=form.cleaned_data["recipients"],
            message_id=form.cleaned_data["message_id"],
        )
    return render(
        request, "copilot/portal/intelligence/why.html", {"form": form, "answer": answer, "tab": "why"}
    )


@admin_required
def storage(request: HttpRequest) -> HttpResponse:
    org = request.organization
    current = services.intelligence_settings_for(organization_id=org.pk)
    form = StorageForm(
        request.POST if request.method == "POST" else None,
        initial={"keep_email_bodies": current.keep_email_bodies},
    )
    if request.method == "POST" and form.is_valid():
        keep = form.cleaned_data["keep_email_bodies"]
        stored = services.stored_body_count(organization=org) if current.keep_email_bodies and not keep else 0
        if stored and request.POST.get("confirm") != "yes":
            return render(
                request,
                "copilot/portal/intelligence/storage_confirm.html",
                {"stored": stored, "tab": "storage"},
            )
        _, cleared = services.intelligence_settings_update(
            organization=org, actor=request.user, keep_email_bodies=keep
        )
        if keep:
            messages.success(request, "Full email bodies will be kept for mail synced from now on.")
        else:
            messages.success(
                request,
                f"Only subjects and snippets are kept now. Deleted {_count(cleared, 'stored email body', 'stored email bodies')}.",
            )
        return redirect("copilot:intelligence_settings")
    return render(
        request,
        "copilot/portal/intelligence/storage.html",
        {
            "form": form,
            "settings_row": current,
            "stored": services.stored_body_count(organization=org),
            "tab": "storage",
        },
    )
