"""Settings page (A9): tabs, email notifications and the connections overview."""

from __future__ import annotations

from django.urls import reverse

from engage.models import NotificationChoice
from engage.services.profile import seller_profile_for
from tests.factories import VoicemailFactory

SETTINGS = reverse("engage:settings")
HX = {"HTTP_HX_REQUEST": "true"}


def test_the_settings_page_has_every_section(seller_client):
    page = seller_client.get(SETTINGS).content.decode()
    for title in ("Email notifications", "Dialer phone", "Voicemails", "Connections"):
        assert title in page
    assert 'aria-label="Profile and settings"' in page
    assert "No voicemails yet" in page


def test_the_user_menu_and_account_nav_lead_to_profile_and_settings(seller_client):
    page = seller_client.get(SETTINGS).content.decode()
    assert f'role="menuitem" href="{reverse("engage:profile")}"' in page
    assert f'role="menuitem" href="{SETTINGS}"' in page
    assert f'href="{SETTINGS}" aria-current="page">Settings</a>' in page
    assert f'href="{reverse("copilot:account")}"' in page and "Setup progress" in page


def test_connections_show_the_organisations_choices(seller_client, acme):
    acme.email_provider, acme.crm = "microsoft", "salesforce"
    acme.save()
    page = seller_client.get(SETTINGS).content.decode()
    assert "Microsoft 365 (Outlook)" in page and "Salesforce" in page
    assert page.count("Not connected") == 2


def test_notifications_are_saved_together(seller_client, teammate):
    response = seller_client.post(
        reverse("engage:settings_notifications"),
        {"notify_opened": "never", "notify_failed": "immediately", "notify_clicked": "never"},
    )
    assert response.status_code == 302 and response.url == SETTINGS + "#notifications"
    profile = seller_profile_for(teammate)
    profile.refresh_from_db()
    assert (profile.notify_opened, profile.notify_failed, profile.notify_clicked) == (
        NotificationChoice.NEVER,
        NotificationChoice.IMMEDIATELY,
        NotificationChoice.NEVER,
    )
    page = seller_client.get(SETTINGS).content.decode()
    assert "Saved your email notifications." in page
    assert '<option value="never" selected>Never</option>' in page


def test_a_bad_notification_value_saves_nothing(seller_client, teammate):
    response = seller_client.post(
        reverse("engage:settings_notifications"),
        {"notify_opened": "never", "notify_failed": "sometimes", "notify_clicked": "never"},
    )
    assert response.status_code == 200
    assert set(response.context["notifications_form"].errors) == {"notify_failed"}
    assert seller_profile_for(teammate).notify_opened == NotificationChoice.IMMEDIATELY


def test_notifications_with_htmx(seller_client):
    response = seller_client.post(
        reverse("engage:settings_notifications"),
        {"notify_opened": "never", "notify_failed": "never", "notify_clicked": "never"},
        **HX,
    )
    body = response.content.decode()
    assert (
        body.lstrip().startswith('<section id="notifications"') and "Saved your email notifications." in body
    )


def test_notifications_are_post_only(seller_client):
    assert seller_client.get(reverse("engage:settings_notifications")).status_code == 405


def test_the_settings_page_query_count_is_bounded(seller_client, teammate, django_assert_max_num_queries):
    for _ in range(12):
        VoicemailFactory(organization=teammate.organization, owner=teammate)
    seller_client.get(SETTINGS)  # makes the profile
    with django_assert_max_num_queries(8):  # 8 since the navigation counts the seller's actions
        response = seller_client.get(SETTINGS)
    assert response.content.decode().count("<audio") == 12
