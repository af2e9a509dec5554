from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from copilot.models import User
from copilot.services.organizations import organization_create_for_founder


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.CADENCE_SIGNUP_OPEN

    @transaction.atomic
    def save_user(self, request: HttpRequest, user: User, form, commit: bool = True) -> User:
        """Sign-up makes a new organisation whose first user is its Administrator (A3)."""
        user = super().save_user(request, user, form, commit=False)
        data = form.cleaned_data
        user.first_name = data["first_name"].strip()
        user.last_name = data["last_name"].strip()
        user.mailbox_username = user.email
        user.save()
        organization_create_for_founder(user=user, name=data["organization_name"])
        return user
