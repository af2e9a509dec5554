"""Who may see, use and change Salesflows and templates. Every lookup goes through ``for_org``;
these say what a member of the organisation may do with what they found.

- A flow shared with the team is seen and used (enrolled into) by everyone in the organisation;
  a private one by its owner alone. Its owner and the organisation's administrators change it.
- A template works the same way (personal = private).
- Enrolling on behalf of another user (their mailbox, their hours) needs A5's permission."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from engage.models import Salesflow, SalesflowTemplate

if TYPE_CHECKING:
    from copilot.models import User

ON_BEHALF_REFUSED = (
    "You may not start Salesflows on behalf of other users. Ask an administrator for the "
    "“Start Salesflow on behalf of others” permission."
)


def flows_for(user: User) -> QuerySet[Salesflow]:
    """The flows ``user`` sees: the team's and their own (archived ones too)."""
    return Salesflow.objects.for_org(user.organization).filter(
        Q(visibility=Salesflow.Visibility.TEAM) | Q(owner=user)
    )


def templates_for(user: User) -> QuerySet[SalesflowTemplate]:
    return SalesflowTemplate.objects.for_org(user.organization).filter(
        Q(shared=SalesflowTemplate.Sharing.TEAM) | Q(owner=user)
    )


def _member(user: User, organization_id: int) -> bool:
    return bool(
        user.is_active and user.organization_id is not None and user.organization_id == organization_id
    )


def flow_usable_by(flow: Salesflow, user: User) -> bool:
    if not _member(user, flow.organization_id):
        return False
    return flow.visibility == Salesflow.Visibility.TEAM or flow.owner_id == user.pk


def flow_editable_by(flow: Salesflow, user: User) -> bool:
    return _member(user, flow.organization_id) and (flow.owner_id == user.pk or user.is_org_admin)


def template_editable_by(template: SalesflowTemplate, user: User) -> bool:
    if not _member(user, template.organization_id):
        return False
    if template.owner_id == user.pk:
        return True
    return template.shared == SalesflowTemplate.Sharing.TEAM and user.is_org_admin


def check_flow_editable(flow: Salesflow, user: User) -> None:
    if not flow_editable_by(flow, user):
        raise PermissionDenied("Only the Salesflow's owner or an administrator may change it.")


def check_flow_usable(flow: Salesflow, user: User) -> None:
    if not flow_usable_by(flow, user):
        raise PermissionDenied("This Salesflow is not one you can use.")


def on_behalf_allowed(*, enrolled_by: User, sender: User) -> bool:
    """``enrolled_by`` may enrol contacts to be sent from ``sender``'s mailbox."""
    if not _member(enrolled_by, sender.organization_id or -1):
        return False
    return sender.pk == enrolled_by.pk or enrolled_by.can_start_salesflow_on_behalf
