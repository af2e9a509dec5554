"""Contacts (F1): the list with filters, sort, keyset pages and bulk changes; one contact's page;
the New Contact form that offers an existing contact instead of a second one."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from copilot.intelligence import selectors as intelligence
from copilot.tenancy import member_required, org_object_or_404, scoped
from copilot.views.helpers import apply_validation_error
from copilot.views.timeline import timeline_context
from engage import selectors
from engage.forms.contacts import BulkForm, ContactForm
from engage.models import Account, Contact
from engage.salesflows.enrolment_selectors import contact_salesflow_history
from engage.services import contacts as contact_services
from engage.services.crm import linking as crm_linking
from engage.services.profile import phone_region_for

FILTER_PARAMS = ("q", "owner", "status", "account", "source", "opted_out", "sort")


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def filters_from(query: QueryDict, *, user_id: int) -> selectors.ContactFilters:
    owner_param = query.get("owner", "")
    owner: int | str | None = None
    if owner_param == "me":
        owner = user_id
    elif owner_param == "none":
        owner = "none"
    else:
        owner = _int(owner_param)
    opted = query.get("opted_out", "")
    sort = query.get("sort", "")
    return selectors.ContactFilters(
        q=query.get("q", "").strip()[:100],
        owner=owner,
        status=_int(query.get("status")),
        account=_int(query.get("account")),
        source=query.get("source", "") if query.get("source", "") in Contact.Source.values else "",
        opted_out={"yes": True, "no": False}.get(opted),
        sort=sort if sort in selectors.SORTS else selectors.DEFAULT_SORT,
    )


def _filter_query(query: QueryDict) -> str:
    """The list's filter parameters, without the page cursor, as a query string."""
    return urlencode([(k, query[k]) for k in FILTER_PARAMS if query.get(k)])


@member_required
@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    org = request.organization
    filters = filters_from(request.GET, user_id=request.user.pk)
    page = selectors.contact_list_page(
        organization=org,
        filters=filters,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    account = None
    if filters.account:
        account = scoped(request, Account).filter(pk=filters.account).first()
    statuses = list(selectors.contact_status_choices(organization=org))
    context = {
        "page": page,
        "filters": filters,
        "params": request.GET,
        "filter_query": _filter_query(request.GET),
        "owners": list(selectors.contact_owner_choices(organization=org)),
        "statuses": statuses,
        "sources": Contact.Source.choices,
        "sorts": [(key, order.label) for key, order in selectors.SORTS.items()],
        "filter_account": account,
        # Row links are built from these prefixes: 100 reverse() calls a page add up.
        "contacts_url": reverse("engage:contacts"),
        "accounts_url": reverse("engage:accounts"),
    }
    template = (
        "engage/contacts/_results.html"
        if request.htmx and request.htmx.target == "results"
        else "engage/contacts/list.html"
    )
    return render(request, template, context)


@member_required
@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponse:
    org = request.organization
    back = f"{reverse('engage:contacts')}?{_filter_query(request.POST)}"
    if request.POST.get("action") == "salesflow":  # the Add to Salesflow dialog decides the rest
        return _bulk_to_salesflow(request, back)
    form = BulkForm(request.POST, organization=org)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    data = form.cleaned_data
    if data["scope"] == "all":
        contacts = selectors.contacts_filtered(
            organization=org, filters=filters_from(request.POST, user_id=request.user.pk)
        )
    else:
        contacts = scoped(request, Contact).filter(pk__in=data["ids"])
    try:
        if data["action"] == "status":
            count = contact_services.contacts_bulk_update(
                organization=org, actor=request.user, contacts=contacts, status=data["new_status"]
            )
            messages.success(
                request,
                f"Changed the status of {count:,} contact{'s' if count != 1 else ''} to {data['new_status']}.",
            )
        else:
            owner = data["owner_user"]
            count = contact_services.contacts_bulk_update(
                organization=org, actor=request.user, contacts=contacts, owner=owner, unassign=owner is None
            )
            who = (owner.get_full_name() or owner.email) if owner else "nobody (unassigned)"
            messages.success(request, f"Gave {count:,} contact{'s' if count != 1 else ''} to {who}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(back)


def _bulk_to_salesflow(request: HttpRequest, back: str) -> HttpResponse:
    """The bulk bar's "Add to Salesflow…" without JavaScript: the dialog's page for the selected
    contacts, or for everyone matching the list's filters (carried as the filters)."""
    if request.POST.get("scope") == "all":
        chosen = [("scope", "all"), *((k, request.POST[k]) for k in FILTER_PARAMS if request.POST.get(k))]
    else:
        chosen = [("contact", v) for v in request.POST.getlist("ids") if v.isdigit()]
        if not chosen:
            messages.error(request, "Select at least one contact first.")
            return redirect(back)
    return redirect(f"{reverse('engage:salesflow_enrol')}?{urlencode([*chosen, ('next', back)])}")


@member_required
def contact_create(request: HttpRequest) -> HttpResponse:
    org = request.organization
    initial = {"owner": request.user.pk, "email": request.GET.get("email", "")}
    form = ContactForm(
        request.POST or None,
        organization=org,
        initial=initial,
        default_region=phone_region_for(request.user),
    )
    existing = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        status, owner = data.pop("status"), data.pop("owner")
        try:
            contact = crm_linking.contact_add(
                organization=org, actor=request.user, data=data, owner=owner, status=status
            )
        except contact_services.DuplicateContact as exc:
            existing = exc.existing
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"Added {contact}.")
            return redirect("engage:contact_detail", contact_id=contact.pk)
    return render(
        request, "engage/contacts/form.html", {"form": form, "existing": existing, "creating": True}
    )


@member_required
@require_GET
def contact_email_check(request: HttpRequest) -> HttpResponse:
    """The htmx check under the New Contact form's email field: is this person already here?"""
    existing = selectors.contact_by_email(
        organization=request.organization, email=request.GET.get("email", "")
    )
    return render(request, "engage/contacts/_existing.html", {"existing": existing})


@member_required
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = org_object_or_404(
        request, Contact.objects.select_related("owner", "status", "account"), pk=contact_id
    )
    org = request.organization
    crm = {
        "crm_error": crm_linking.crm_latest_error(contact=contact),
        "crm_lookup": crm_linking.crm_lookup_state(contact=contact),
    }
    if request.htmx and request.htmx.target == "crm-state":  # polled while Salesforce is checked
        return render(request, "engage/contacts/_crm_state.html", {"contact": contact, **crm})
    return render(
        request,
        "engage/contacts/detail.html",
        {
            "contact": contact,
            "statuses": selectors.contact_status_choices(organization=org),
            "owners": selectors.contact_owner_choices(organization=org),
            **crm,
            "salesflow_history": contact_salesflow_history(contact=contact, viewer=request.user),
            # The timeline is synced intelligence: only with the Copilot package (A1).
            "timeline_lock": org.package_lock_reason("copilot"),
            **(_contact_timeline(request, contact) if contact.email and org.has_package("copilot") else {}),
        },
    )


def _contact_timeline(request: HttpRequest, contact: Contact) -> dict[str, object]:
    """B8: the team's emails and meetings with the person this contact is — every address the
    team's address books file with theirs — or, before anyone has mailed them, with the address."""
    label = contact.full_name or contact.email
    person = selectors.contact_person(contact=contact)
    if person is None:
        return timeline_context(request, email=contact.email, label=label)
    return {
        "person": person,
        "addresses": intelligence.person_addresses(person=person),
        **timeline_context(request, person=person, label=label, all_addresses=True),
    }


@member_required
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = org_object_or_404(request, Contact, pk=contact_id)
    form = ContactForm(
        request.POST or None,
        organization=request.organization,
        with_status_owner=False,
        initial=model_to_dict(contact),
        default_region=phone_region_for(request.user),
    )
    existing = None
    if request.method == "POST" and form.is_valid():
        try:
            contact_services.contact_update(contact=contact, actor=request.user, data=form.cleaned_data)
        except contact_services.DuplicateContact as exc:
            existing = exc.existing
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"Saved {contact}.")
            return redirect("engage:contact_detail", contact_id=contact.pk)
    return render(
        request,
        "engage/contacts/form.html",
        {"form": form, "existing": existing, "creating": False, "contact": contact},
    )


@member_required
@require_POST
def contact_status(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = org_object_or_404(request, Contact.objects.select_related("owner", "status"), pk=contact_id)
    status = (
        selectors.contact_status_choices(organization=request.organization)
        .filter(pk=_int(request.POST.get("status")))
        .first()
    )
    if status is None:
        messages.error(request, "Choose one of your organisation's statuses.")
    else:
        contact_services.contact_set_status(contact=contact, status=status, actor=request.user)
        messages.success(request, f"{contact} is now {status}.")
    return redirect("engage:contact_detail", contact_id=contact.pk)


@member_required
@require_POST
def contact_owner(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = org_object_or_404(request, Contact.objects.select_related("owner", "status"), pk=contact_id)
    raw = request.POST.get("owner", "")
    owner = None
    if raw != "none":
        owner = (
            selectors.contact_owner_choices(organization=request.organization).filter(pk=_int(raw)).first()
        )
        if owner is None:
            messages.error(request, "Choose a member of your organisation.")
            return redirect("engage:contact_detail", contact_id=contact.pk)
    contact_services.contact_set_owner(contact=contact, owner=owner, actor=request.user)
    messages.success(request, f"{contact} is now owned by {owner or 'nobody'}.")
    return redirect("engage:contact_detail", contact_id=contact.pk)


@member_required
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = org_object_or_404(request, Contact, pk=contact_id)
    if request.method == "POST":
        contact_services.contact_delete(contact=contact, actor=request.user)
        messages.success(request, f"Deleted {contact}.")
        return redirect("engage:contacts")
    return render(request, "engage/contacts/delete.html", {"contact": contact})
