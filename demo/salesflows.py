"""Demo Co's two ready Salesflows (issue 13, point 10), made once its mailboxes are connected.

``demo_salesflows`` runs from ``demo_connect`` right after Google Workspace connects (enrolling
needs the sender's mailbox), through the same services a seller uses: the builder's
``flow_create``/``step_add`` and the Add to Salesflow dialog's ``enrolment_check``/
``enrolment_start``. Both flows belong to seller1 and are shared with the team:

- "New logos — first touch": an automatic email, a call two business days later, a threaded
  follow-up three business days after that, and a task. Five of seller1's contacts in the United
  States are enrolled, so the first emails go out through the sandbox within minutes.
- "Warm follow-up": a call at once, then a manual email and a task. Three more contacts, so
  seller1's Actions queue has calls waiting.

So that a newcomer sees this at any hour, the demo's sellers work every day around the clock
(Profile › Business hours puts it back to a working week). Recipients in the United States get no
recipient business-day check (the country has several time zones, engage.scheduling), only its
public holidays. Nothing is made twice: an organisation that already has Salesflows is left alone.
"""

from __future__ import annotations

from django.db.models import Q

from copilot.models import Organization, User
from engage.models import Contact, Salesflow, SellerProfile
from engage.salesflows import builder
from engage.salesflows.builder import StepContent
from engage.salesflows.enrolment import enrolment_check, enrolment_start

SELLER = "seller1@demo.example"
AROUND_THE_CLOCK = {str(day): ["00:00", "23:59"] for day in range(7)}
DEMO_COUNTRY = "United States"

FIRST_TOUCH = (
    StepContent(
        kind="auto_email",
        subject="A quick idea for {{ account.name|your team }}",
        body_html=(
            "<p>Hi {{ first_name|there }},</p>"
            "<p>Teams like {{ account.name|yours }} use Demo Co to cut the time their sellers spend "
            "on follow-ups by half. Would a 20-minute call next week be useful?</p>"
            "<p>{{ sender.signature }}</p>"
        ),
    ),
    StepContent(
        kind="call", delay_amount=2, delay_unit="business_days", task_text="Ask about their Q1 plans."
    ),
    StepContent(
        kind="auto_email",
        delay_amount=3,
        delay_unit="business_days",
        reply_in_thread=True,
        body_html=(
            "<p>Hi {{ first_name|there }}, just bringing this back to the top of your inbox. "
            "Happy to send a two-minute overview instead if that is easier.</p><p>{{ sender.signature }}</p>"
        ),
    ),
    StepContent(kind="task", delay_amount=1, delay_unit="days", task_text="Connect on LinkedIn."),
)
WARM_FOLLOW_UP = (
    StepContent(kind="call", task_text="Thank them for their time and agree the next step."),
    StepContent(
        kind="manual_email",
        delay_amount=1,
        delay_unit="days",
        subject="Following up, {{ first_name|there }}",
        body_html="<p>Hi {{ first_name|there }},</p><p>As promised, …</p><p>{{ sender.signature }}</p>",
    ),
    StepContent(kind="task", delay_amount=2, delay_unit="days", task_text="Send the case study."),
)
FLOWS = (("New logos — first touch", FIRST_TOUCH, 5), ("Warm follow-up", WARM_FOLLOW_UP, 3))


def demo_salesflows(organization: Organization) -> list[tuple[str, int]]:
    """Make the two flows and enrol their contacts; returns (flow name, contacts enrolled) per flow,
    or [] when the organisation already has Salesflows (or no seller1)."""
    seller = User.objects.filter(organization=organization, email=SELLER).first()
    if seller is None or Salesflow.objects.for_org(organization).exists():
        return []
    _around_the_clock(seller)
    candidates = list(
        Contact.objects.for_org(organization)
        .filter(owner=seller, country=DEMO_COUNTRY, email_opt_out=False)
        .exclude(Q(email="") | Q(first_name=""))
        .order_by("pk")
        .values_list("pk", flat=True)[: sum(count for _name, _steps, count in FLOWS)]
    )
    made = []
    for name, steps, count in FLOWS:
        flow = builder.flow_create(owner=seller, name=name, visibility=Salesflow.Visibility.TEAM)
        for content in steps:
            builder.step_add(flow=flow, actor=seller, content=content)
        chosen, candidates = candidates[:count], candidates[count:]
        plan = enrolment_check(flow, chosen, sender=seller, enrolled_by=seller)
        started = enrolment_start(plan, override_warnings=True)
        made.append((name, len(started.enrolments)))
    return made


def _around_the_clock(seller: User) -> None:
    profile, _ = SellerProfile.objects.get_or_create(
        user=seller, defaults={"organization_id": seller.organization_id}
    )
    profile.business_hours = AROUND_THE_CLOCK
    profile.save(update_fields=["business_hours"])
