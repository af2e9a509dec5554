"""Company names in an import -> the organisation's accounts, matched without case, created
when missing. One cache per run: each name costs at most one lookup and one insert per run."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.db.models.functions import Lower

from copilot.models import Organization
from engage.imports.rows import CleanRow
from engage.models import Account


def website_domain(website: str) -> str:
    """``https://www.Example.com/about`` -> ``example.com`` (how ``Account.domain`` is stored)."""
    host = website.strip().lower()
    host = host.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0]
    return host.removeprefix("www.")


class AccountResolver:
    def __init__(self, organization: Organization) -> None:
        self.org = organization
        self.known: dict[str, int] = {}  # lower-cased name -> account id, committed batches only
        self._pending: dict[str, int] = {}

    def resolve(self, rows: list[CleanRow], now: datetime) -> dict[str, int]:
        """Lower-cased company name -> account id for ``rows``: from the cache, else one query,
        else created in one insert with the row's website. An existing account without a website
        gets the row's."""
        wanted: dict[str, tuple[str, str]] = {}  # lower name -> (name as given, website)
        for row in rows:
            name = row.values.get("company")
            if name:
                lower, website = name.lower(), row.values.get("website", "")
                if lower not in wanted or (website and not wanted[lower][1]):
                    wanted[lower] = (name, website)
        missing = [lower for lower in wanted if lower not in self.known]
        found: dict[str, int] = {}
        if missing:
            found = self._existing(missing, wanted, now)
            create = [lower for lower in missing if lower not in found]
            made = Account.objects.bulk_create(
                [
                    Account(
                        organization=self.org,
                        name=wanted[lower][0],
                        website=wanted[lower][1],
                        domain=website_domain(wanted[lower][1]),
                        created_at=now,
                        updated_at=now,
                    )
                    for lower in create
                ]
            )
            found.update({lower: account.pk for lower, account in zip(create, made, strict=True)})
        self._pending = found
        return {lower: self.known.get(lower) or found[lower] for lower in wanted}

    def _existing(
        self, missing: list[str], wanted: dict[str, tuple[str, str]], now: datetime
    ) -> dict[str, int]:
        # Lower() in SQL and str.lower() differ outside ASCII on SQLite; exact names catch those.
        accounts = (
            Account.objects.for_org(self.org)
            .annotate(lower_name=Lower("name"))
            .filter(Q(lower_name__in=missing) | Q(name__in=[wanted[m][0] for m in missing]))
            .order_by("pk")
            .only("pk", "name", "website", "domain")
        )
        found: dict[str, int] = {}
        fill: list[Account] = []
        for account in accounts:
            lower = account.name.lower()
            if lower in found or lower not in wanted:
                continue
            found[lower] = account.pk
            website = wanted[lower][1]
            if website and not account.website:
                account.website, account.domain = website, account.domain or website_domain(website)
                account.updated_at = now
                fill.append(account)
        if fill:
            Account.objects.bulk_update(fill, ["website", "domain", "updated_at"])
        return found

    def commit(self) -> None:
        """The batch is committed: remember its accounts (a rolled-back id must never stick)."""
        self.known.update(self._pending)
        self._pending = {}
