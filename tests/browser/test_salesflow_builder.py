"""The Salesflow builder in real Chromium at 1366 and 800 px (issue 13, point 11's first half): a
seller creates a flow, writes an automatic email with a merge field from the picker (with a
fallback), adds a task and a threaded follow-up two business days later, reorders by keyboard
with the focus kept on the step that moved, and reads "Day 1 … Day 3" on the timeline, then
drags a step to the top; a
misspelt merge field is refused on its field with the suggestion and the typed text kept.

Personas from ``tests/conftest.py``: ``teammate`` (Tom) is a seller of Acme."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from copilot.models import User
from engage.models import Salesflow, SalesflowStep


def _timeline(page: Page) -> list[str]:
    return page.locator(".sf-timeline .sf-tl-day").all_inner_texts()


def _add_step(page: Page, kind: str) -> None:
    page.get_by_label("Kind of step").select_option(label=kind)
    page.get_by_role("button", name="Add step").click()
    expect(page.get_by_role("heading", name="New step")).to_be_visible()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 800])
def test_a_seller_builds_a_three_step_flow_and_reorders_it_by_keyboard(
    page: Page, live_server, sign_in: Callable, teammate: User, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, teammate)
    page.goto(f"{live_server.url}/app/salesflows/")
    expect(page.get_by_role("heading", name="No Salesflows yet")).to_be_visible()
    page.get_by_role("link", name="New Salesflow").first.click()

    page.get_by_label("Name").fill("Q3 outbound")
    page.get_by_label("My team").check()
    page.get_by_role("button", name="Create and add steps").click()
    expect(page.get_by_role("heading", name="Q3 outbound")).to_be_visible()
    expect(page.get_by_role("heading", name="No steps yet")).to_be_visible()
    flow = Salesflow.objects.get(name="Q3 outbound")

    # Step 1: an automatic email, the first name put in with the picker (fallback "there").
    _add_step(page, "Automatic email")
    reply = page.get_by_label("Send as a reply in the same thread")
    expect(reply).to_be_disabled()
    expect(page.get_by_text("Not available: This is the first email of the Salesflow")).to_be_visible()
    page.get_by_label("Subject").fill("Quick question")
    body = page.get_by_role("textbox", name="Email", exact=True)
    body.click()
    page.keyboard.type("Hi ")
    page.get_by_label("Merge field").select_option("first_name")
    page.get_by_label("When a contact has no value, write").fill("there")
    page.get_by_role("button", name="Insert field").click()
    expect(page.get_by_text("Inserted {{ first_name|there }} into the email.")).to_be_visible()
    page.keyboard.type(", are you hiring engineers this quarter?")
    expect(body).to_contain_text("Hi {{ first_name|there }}, are you hiring")
    page.get_by_role("button", name="Save step").click()
    expect(page.get_by_role("status").first).to_contain_text("Added step 1: Automatic email.")
    first = SalesflowStep.objects.get(flow=flow, position=1)
    assert "{{ first_name|there }}, are you hiring engineers" in first.body_html
    assert first.subject == "Quick question" and first.kind == "auto_email"

    # Step 2: a task the next day.
    _add_step(page, "Task")
    page.get_by_label("What to do").fill("Connect on LinkedIn")
    page.get_by_label("Wait after the previous step").fill("1")
    page.get_by_role("button", name="Save step").click()
    expect(page.get_by_role("status").first).to_contain_text("Added step 2: Task.")

    # Step 3: the follow-up, two business days later, in the same thread.
    _add_step(page, "Automatic email")
    page.get_by_label("Wait after the previous step").fill("2")
    page.get_by_label("Unit of the wait").select_option(label="business days")
    reply = page.get_by_label("Send as a reply in the same thread")
    expect(reply).to_be_enabled()
    reply.check()
    page.get_by_role("textbox", name="Email", exact=True).click()
    page.keyboard.type("Following up on my note below.")
    page.get_by_role("button", name="Save step").click()
    expect(page.get_by_role("status").first).to_contain_text("Added step 3: Automatic email.")
    assert _timeline(page) == ["Day 1", "Day 2", "Day 4"]
    expect(page.get_by_text("Business days are counted as days on this timeline")).to_be_visible()

    # Reorder by keyboard: the task goes last; the focus stays on it.
    task = SalesflowStep.objects.get(flow=flow, kind="task")
    _htmx_idle(page)
    page.locator(f"#step-{task.pk}-down").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#steps").get_by_role("status")).to_contain_text(
        "Moved “Connect on LinkedIn” to step 3."
    )
    assert _timeline(page) == ["Day 1", "Day 3", "Day 4"]
    expect(page.locator(f"#step-{task.pk}-down")).to_be_disabled()
    focused = page.evaluate("() => document.activeElement.closest('.sf-step')?.id")
    assert focused == f"step-{task.pk}"
    _htmx_idle(page)
    page.keyboard.press("Enter")  # the focused button is the task's Move up: it goes back
    expect(page.locator("#steps").get_by_role("status")).to_contain_text(
        "Moved “Connect on LinkedIn” to step 2."
    )
    assert page.evaluate("() => document.activeElement.closest('.sf-step')?.id") == f"step-{task.pk}"
    _htmx_idle(page)
    page.locator(f"#step-{task.pk}-down").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#steps").get_by_role("status")).to_contain_text("to step 3.")
    assert _timeline(page) == ["Day 1", "Day 3", "Day 4"]

    steps = list(SalesflowStep.objects.filter(flow=flow, deleted_at__isnull=True).order_by("position"))
    assert [(s.kind, s.reply_in_thread, s.delay_amount, s.delay_unit) for s in steps] == [
        ("auto_email", False, 0, "days"),
        ("auto_email", True, 2, "business_days"),
        ("task", False, 1, "days"),
    ]
    fits = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, f"the builder is wider than {width} px"

    # Reorder by dragging: the task dropped on the top half of the first step goes first.
    page.locator(f"#step-{task.pk}").drag_to(
        page.locator(f"#step-{first.pk}"), target_position={"x": 30, "y": 4}
    )
    expect(page.locator("#steps").get_by_role("status")).to_contain_text(
        "Moved “Connect on LinkedIn” to step 1."
    )
    kinds = SalesflowStep.objects.filter(flow=flow, deleted_at__isnull=True).order_by("position")
    assert [s.kind for s in kinds] == ["task", "auto_email", "auto_email"]
    assert _timeline(page) == ["Day 2", "Day 2", "Day 4"]

    # A misspelt merge field: said on the subject with the suggestion, the typed text kept.
    page.get_by_role("link", name="Edit step 2").click()
    page.get_by_label("Subject").fill("Hi {{ frist_name }}, quick question")
    page.get_by_role("button", name="Save step").click()
    expect(page.get_by_role("alert").filter(has_text="did you mean {{ first_name }}?")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("Hi {{ frist_name }}, quick question")
    expect(page.get_by_label("Subject")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("textbox", name="Email", exact=True)).to_contain_text("{{ first_name|there }}")
    first.refresh_from_db()
    assert first.subject == "Quick question"


def _htmx_idle(page) -> None:
    """Wait until htmx has swapped and settled the last answer, so the next key press reaches the
    new step's buttons (already wired to htmx) rather than racing the swap."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
