"""CSV import of 100,000 contacts (F1), through the real services, files on disk.

A realistic file is generated (unique emails, ~5,000 companies — some with commas, so quoted —
titles, phones, statuses including one the organisation does not have, owners, opt-outs,
websites, cities), uploaded with ``import_create``, checked with the validation pass and then
imported with ``import_run``, synchronously in this process. Figures:

- ``csv_import_100k_seconds``: wall time of ``import_run`` (the import pass, report included).
- ``csv_import_100k_peak_mb``: the largest resident set size of this process while it ran —
  absolute, not growth: /proc/self/status VmRSS sampled every 50 ms, and VmHWM after resetting
  it through /proc/self/clear_refs when the kernel allows (the larger of the two is reported).
- For context: ``csv_upload_100k_seconds`` (checking the upload: encoding, delimiter, rows),
  ``csv_validate_100k_seconds`` (the validation pass) and ``csv_reimport_100k_seconds`` (the same
  file again: every row updates an existing contact).

Baselines, measured in the same run on the same machine (best of three), so the figures mean the
same on a slower machine:

- ``csv_bare_copy_100k_seconds``: the database's own bulk load of the same file into a bare table
  with the same columns — ``COPY ... FROM STDIN`` on PostgreSQL, ``csv.reader`` into
  ``executemany`` in one transaction on SQLite; the floor no row-checking import can beat.
  ``csv_import_100k_vs_bare_copy_ratio`` and ``csv_reimport_100k_vs_bare_copy_ratio`` divide by
  it (``csv_import_vs_copy_ratio``, the same ratio, is kept under its old name on PostgreSQL).
- ``csv_bare_read_100k_seconds``: decoding the file and splitting its rows with ``csv.reader``,
  nothing else; ``csv_upload_100k_vs_bare_read_ratio`` and ``csv_validate_100k_vs_bare_read_ratio``
  divide by it (both passes read the whole file and write nothing per row).

The benchmark fails on those ratios (``RATIO_LIMITS``) and on the peak RSS, never on an absolute
time.

The run fails unless all 100,000 contacts exist afterwards with the file's values, the counts
add up to the row count and the report has one line per row: fast but wrong does not pass.
"""

from __future__ import annotations

import csv
import random
import time
import unicodedata
from pathlib import Path

from tests.bench import support

ROWS = 100_000
COMPANIES = 5_000
USERS = 5
LIMIT_MB = 300  # memory is the same on a slower machine: an absolute limit still means something
# Limits on the time in units of a same-run baseline. Measured on SQLite on 2026-12-06 (issue 11),
# on the 2-core machine with other test runs beside it: import 14.3x and re-import 39.6x a bare
# executemany of the file, upload 4.2x and validation 32.6x a bare csv.reader pass. The limits
# are about twice that (a slower machine moves figure and baseline together; doubling the work
# per row fails). On PostgreSQL COPY is a faster floor: the import was 47-70x it before issue 11,
# so the import limits leave room for that too.
RATIO_LIMITS = {
    "csv_import_100k_vs_bare_copy_ratio": 140,
    "csv_reimport_100k_vs_bare_copy_ratio": 200,
    "csv_upload_100k_vs_bare_read_ratio": 10,
    "csv_validate_100k_vs_bare_read_ratio": 65,
}
BASELINE_REPEATS = 3
# Its own database and files, so it can run beside another benchmark.
DATABASE_NAME = "bench_import"
WORK_DIR = support.BENCH_DIR / "contact_import"

# fmt: off
FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kalani",
    "Lars", "Mei", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Zoë"]
LAST = ["Anderson", "Brown", "Carlson", "Dubois", "Evans", "Fischer", "García", "Hansen", "Ivanova",
    "Johnson", "Kowalski", "Lopez", "Müller", "Nakamura", "O'Brien", "Okafor", "Petrov", "Rossi"]
TITLES = ["VP Sales", "Head of Operations", "CFO", "IT Director", "Procurement Lead", "CTO",
    "Office Manager", "Director, Business Development", "Account Executive", "CEO & Founder"]
WORDS = ["Apex", "Blue", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper",
    "Kite", "Lumen", "Maple", "Nova", "Orbit", "Pine", "Quartz", "River", "Summit", "Tidal"]
KINDS = ["Logistics", "Software", "Foods", "Capital", "Health", "Energy", "Robotics", "Media",
    "Textiles", "Labs", "Consulting", "Freight", "Analytics"]
SUFFIXES = ["Inc.", "GmbH", "Ltd", "SA", "LLC", "AB", "BV"]
STATUSES = ["New", "Open", "Contacted", "Qualified", "Prospecting", "Working"]  # Working: unknown
CITIES = ["Berlin", "Lyon", "Austin", "Leeds", "Osaka", "Porto", "Malmö", "Kraków", "Zürich"]
# fmt: on
HEADER = [
    "First Name",
    "Last Name",
    "Email",
    "Title",
    "Company / Account",
    "Website",
    "Phone",
    "Mobile",
    "Lead Status",
    "Owner Email",
    "Email Opt Out",
    "City",
    "Country",
]  # fmt: skip


def run() -> dict[str, float]:
    return support.run_in_bench_database(_measure, name=DATABASE_NAME, work_dir=WORK_DIR)


def _measure(vendor: str) -> dict[str, float]:
    from django.conf import settings
    from django.test.utils import override_settings

    from config.celery import app as celery_app

    (WORK_DIR / "media").mkdir()
    csv_path = WORK_DIR / "contacts-100k.csv"
    companies = _write_csv(csv_path)
    celery_app.conf.task_always_eager = True  # the passes run here, synchronously, whatever .env says
    storages = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(WORK_DIR / "media")},
        },
    }
    with override_settings(STORAGES=storages):
        return _import(vendor, csv_path, companies)


def _import(vendor: str, csv_path: Path, companies: int) -> dict[str, float]:
    from django.core.files import File
    from django.db import connection

    from engage.models import Account, Contact, ContactImport
    from engage.services import imports

    org, seller = _seed_org()

    t0 = time.perf_counter()
    with csv_path.open("rb") as fileobj:
        imp = imports.import_create(organization=org, actor=seller, upload=File(fileobj, name=csv_path.name))
    upload_seconds = time.perf_counter() - t0
    assert imp.row_count == ROWS, imp.row_count
    expected = {
        "0": "first_name", "1": "last_name", "2": "email", "3": "title", "4": "company", "5": "website",
        "6": "business_phone", "7": "mobile_phone", "8": "status", "9": "owner", "10": "email_opt_out",
        "11": "city", "12": "country",
    }  # fmt: skip
    assert imp.mapping == expected, f"columns guessed wrong: {imp.mapping}"

    t0 = time.perf_counter()
    imports.import_set_mapping(contact_import=imp, actor=seller, mapping=imp.mapping, on_duplicate="update")
    validate_seconds = time.perf_counter() - t0
    imp.refresh_from_db()
    assert imp.status == ContactImport.Status.VALIDATED, imp.failure_message
    assert imp.validation["create"] == ROWS, imp.validation

    ContactImport.objects.filter(pk=imp.pk).update(status=ContactImport.Status.IMPORTING, started_at=None)
    with support.PeakRss() as peak:
        t0 = time.perf_counter()
        imports.import_run(import_id=imp.pk)
        import_seconds = time.perf_counter() - t0

    imp.refresh_from_db()
    assert imp.status == ContactImport.Status.DONE, imp.failure_message
    _check(imp, org, companies, created=ROWS, updated=0)
    assert Contact.objects.filter(organization=org).count() == ROWS
    assert Account.objects.filter(organization=org).count() == companies

    reimport_seconds = _reimport(imp, org, seller, csv_path, companies)

    copy_seconds = support.best_of(BASELINE_REPEATS, lambda: _bare_copy_seconds(connection, csv_path))
    read_seconds = support.best_of(BASELINE_REPEATS, lambda: _bare_read_seconds(csv_path))
    figures: dict[str, float] = {
        "csv_import_100k_seconds": round(import_seconds, 2),
        "csv_import_100k_peak_mb": round(peak.peak_mb, 1),
        "csv_upload_100k_seconds": round(upload_seconds, 2),
        "csv_validate_100k_seconds": round(validate_seconds, 2),
        "csv_reimport_100k_seconds": round(reimport_seconds, 2),
        "csv_bare_copy_100k_seconds": round(copy_seconds, 3),
        "csv_bare_read_100k_seconds": round(read_seconds, 3),
        "csv_import_100k_vs_bare_copy_ratio": support.ratio(import_seconds, copy_seconds),
        "csv_reimport_100k_vs_bare_copy_ratio": support.ratio(reimport_seconds, copy_seconds),
        "csv_upload_100k_vs_bare_read_ratio": support.ratio(upload_seconds, read_seconds),
        "csv_validate_100k_vs_bare_read_ratio": support.ratio(validate_seconds, read_seconds),
    }
    if vendor == "postgresql":
        figures["csv_import_vs_copy_ratio"] = round(import_seconds / copy_seconds, 1)  # the old name
    bare_copy = "COPY FROM STDIN" if vendor == "postgresql" else "csv.reader into executemany"
    rows = [
        ["check the upload (encoding, delimiter, rows)", upload_seconds, ""],
        ["validation pass (no writes)", validate_seconds, ""],
        ["import pass: 100,000 new contacts", import_seconds, ""],
        ["import again: 100,000 updates", reimport_seconds, ""],
        [f"baseline: {bare_copy} of the same file, bare table", copy_seconds, "best of 3"],
        ["baseline: csv.reader over the file, nothing else", read_seconds, "best of 3"],
    ]
    rows[2][2] = f"peak RSS {peak.peak_mb:,.0f} MB ({peak.how})"
    support.print_table(
        f"CSV import of {ROWS:,} rows ({vendor}; file {csv_path.stat().st_size / 1e6:,.1f} MB, {companies:,} companies)",
        ["step", "seconds", ""],
        rows,
    )
    failures = support.ratio_failures(figures, RATIO_LIMITS)
    if (
        vendor == "postgresql" and peak.peak_mb > LIMIT_MB
    ):  # the limit is PostgreSQL's, the production database
        failures.append(f"peak RSS was {peak.peak_mb:.0f} MB (limit {LIMIT_MB} MB)")
    support.fail_on(failures, figures)
    return figures


def _reimport(first, org, seller, csv_path: Path, companies: int) -> float:
    from django.core.files import File

    from engage.models import ContactImport
    from engage.services import imports

    with csv_path.open("rb") as fileobj:
        imp = imports.import_create(organization=org, actor=seller, upload=File(fileobj, name=csv_path.name))
    imports.import_set_mapping(contact_import=imp, actor=seller, mapping=first.mapping, on_duplicate="update")
    ContactImport.objects.filter(pk=imp.pk).update(status=ContactImport.Status.IMPORTING, started_at=None)
    t0 = time.perf_counter()
    imports.import_run(import_id=imp.pk)
    seconds = time.perf_counter() - t0
    imp.refresh_from_db()
    _check(imp, org, companies, created=0, updated=ROWS)
    return seconds


def _check(imp, org, companies: int, *, created: int, updated: int) -> None:
    """The import did what the file says: counts, report, and the values of sample rows."""
    from engage.models import Contact

    counts = (imp.created_count, imp.updated_count, imp.skipped_count, imp.error_count)
    assert counts == (created, updated, 0, 0), counts
    assert sum(counts) == imp.row_count == imp.processed_rows == ROWS
    with imp.report.open("rb") as raw:
        lines = sum(1 for _ in raw)
    assert lines == ROWS + 1, f"the report has {lines} lines for {ROWS} rows"
    for i in (0, 4_321, ROWS - 1):
        row = _row(i)
        contact = Contact.objects.select_related("account", "status", "owner").get(
            organization=org, email=row[2].lower()
        )
        assert (contact.first_name, contact.last_name, contact.title) == (row[0], row[1], row[3]), i
        assert contact.account.name == row[4] and contact.company == row[4]
        assert contact.business_phone == row[6] and contact.city == row[11]
        assert contact.email_opt_out == (row[10] == "1")
        assert contact.owner.email == row[9]
        assert contact.status.name == (row[8] if row[8] != "Working" else "New")


# --- Data ---------------------------------------------------------------------------------------
def _seed_org():
    from django.utils import timezone

    from copilot.models import Organization, Role, User

    org = Organization.objects.create(name="Bench Import Co")  # gets the default statuses
    users = [
        User.objects.create_user(
            f"seller{i}@bench.example",
            "bench-seller-password",
            organization=org,
            role=Role.CONTRIBUTOR,
            first_name=f"Seller{i}",
            last_name="Bench",
            onboarding_finished_at=timezone.now(),
        )
        for i in range(USERS)
    ]
    return org, users[0]


def _company(k: int) -> str:
    name = (
        f"{WORDS[k % len(WORDS)]} {KINDS[k // len(WORDS) % len(KINDS)]} {k // (len(WORDS) * len(KINDS)) + 1}"
    )
    return f"{name}, {SUFFIXES[k % len(SUFFIXES)]}" if k % 3 == 0 else name  # a comma: quoted


def _row(i: int) -> list[str]:
    rnd = random.Random(i)
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    k = rnd.randrange(COMPANIES)
    domain = f"{WORDS[k % len(WORDS)].lower()}{k}.example"
    return [
        first,
        last,
        _ascii(f"{first}.{last}.{i}@{domain}"),
        TITLES[rnd.randrange(len(TITLES))],
        _company(k),
        f"https://www.{domain}/" if k % 2 else "",
        f"+1 {rnd.randrange(200, 999)} 555 {rnd.randrange(10**4):04d}",
        f"+44 7700 9{rnd.randrange(10**5):05d}" if rnd.random() < 0.4 else "",
        STATUSES[rnd.randrange(len(STATUSES))],
        f"seller{rnd.randrange(USERS)}@bench.example",
        "1" if rnd.random() < 0.05 else "0",
        CITIES[rnd.randrange(len(CITIES))],
        "Germany" if rnd.random() < 0.5 else "United States",
    ]


def _ascii(email: str) -> str:
    """Mailbox names are ASCII in practice: "Zoë.Müller" -> "Zoe.Muller"."""
    plain = unicodedata.normalize("NFKD", email).encode("ascii", "ignore").decode()
    return plain.replace("'", "")


def _write_csv(path: Path) -> int:
    """Streams the file to disk (UTF-8 with BOM, CRLF, like Excel's "CSV UTF-8"); returns the
    number of distinct companies in it."""
    companies: set[str] = set()
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(ROWS):
            row = _row(i)
            companies.add(row[4].lower())
            writer.writerow(row)
    return len(companies)


# --- Measurements -------------------------------------------------------------------------------
def _bare_copy_seconds(connection, csv_path: Path) -> float:
    """The database's own bulk load of the same file into a bare table with the same columns:
    PostgreSQL's ``COPY FROM STDIN`` of the file's bytes; on SQLite (no COPY) ``csv.reader``
    feeding ``executemany`` in one transaction."""
    if connection.vendor != "postgresql":
        with csv_path.open(encoding="utf-8-sig", newline="") as data:
            reader = csv.reader(data)
            next(reader)  # the header
            return support.bare_bulk_load_seconds(connection, len(HEADER), reader)
    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_import_copy")
        cursor.execute(f"CREATE TABLE bench_import_copy ({columns})")
    raw = connection.connection  # the psycopg 3 connection
    t0 = time.perf_counter()
    with (
        raw.cursor() as cursor,
        csv_path.open("rb") as data,
        cursor.copy(
            "COPY bench_import_copy FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"
        ) as copy,
    ):
        data.read(3)  # the UTF-8 byte-order mark
        while chunk := data.read(1024 * 1024):
            copy.write(chunk)
    seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_import_copy")
        assert cursor.fetchone()[0] == ROWS
        cursor.execute("DROP TABLE bench_import_copy")
    return seconds


def _bare_read_seconds(csv_path: Path) -> float:
    """Decoding the file and splitting it into rows with ``csv.reader``, nothing else."""
    t0 = time.perf_counter()
    with csv_path.open(encoding="utf-8-sig", newline="") as data:
        rows = sum(1 for _ in csv.reader(data)) - 1
    seconds = time.perf_counter() - t0
    assert rows == ROWS, rows
    return seconds
