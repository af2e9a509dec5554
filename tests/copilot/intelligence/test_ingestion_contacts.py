"""Address-book contacts into people (B11), keeping the provider's folder names (D6)."""

from __future__ import annotations

from copilot.models import Company, Person
from integrations.records import Deletion
from integrations.sync.registry import deliver
from tests.copilot.intelligence.record_helpers import contact, context, message

MEI = "mei.nguyen@kestrelrobotics.example"


def book(user, **extra):
    return context(user, kind="contacts", **extra)


def test_a_contact_becomes_a_person_with_its_details_and_folder(acme, owner):
    deliver(
        book(owner),
        [
            contact(
                "people/c1",
                MEI,
                "Mei.Work@KestrelRobotics.example",
                display_name="Mei Nguyen",
                given_name="Mei",
                family_name="Nguyen",
                title="Head of Operations",
                phones=("+1 415 555 0142",),
                company="Kestrel Robotics",
                folders=("Customers",),
            )
        ],
    )
    people = {p.email: p for p in Person.objects.for_org(acme)}
    assert set(people) == {MEI, "mei.work@kestrelrobotics.example"}
    mei = people[MEI]
    assert (mei.name, mei.first_name, mei.last_name, mei.title) == (
        "Mei Nguyen",
        "Mei",
        "Nguyen",
        "Head of Operations",
    )
    assert (mei.phones, mei.address_book_folders, mei.in_address_book) == (
        ["+14155550142"],  # kept in E.164 (issue 12)
        ["Customers"],
        True,
    )
    company = Company.objects.get(organization=acme)
    assert (company.domain, company.name, mei.company) == (
        "kestrelrobotics.example",
        "Kestrel Robotics",
        company,
    )


def test_folders_from_every_teammates_address_book_are_kept(acme, owner, teammate):
    deliver(book(owner), [contact("people/c1", MEI, folders=("Customers",))])
    deliver(
        book(teammate, provider="microsoft"),
        [contact("AAMk1", MEI, folders=("Prospects", "Customers"), phones=("+44 20 7946 0000",))],
    )
    deliver(book(owner), [contact("people/c1", MEI, folders=("Customers",))])  # again: nothing changes
    mei = Person.objects.get()
    assert mei.address_book_folders == ["Customers", "Prospects"]
    assert mei.phones == ["+442079460000"]  # kept in E.164 (issue 12)


def test_an_address_book_improves_what_mail_knew(acme, owner):
    deliver(context(owner), [message(1, sender=(MEI, "mei"), to=(owner.email,))])
    assert Company.objects.get().name == "Kestrelrobotics"
    deliver(book(owner), [contact("people/c1", MEI, display_name="Mei Nguyen", company="Kestrel Robotics")])
    mei = Person.objects.get()
    assert (mei.name, mei.company.name, mei.in_address_book) == ("Mei Nguyen", "Kestrel Robotics", True)
    # A name somebody chose is not replaced by mail or another address book.
    deliver(book(owner), [contact("people/c2", "x@kestrelrobotics.example", company="KESTREL")])
    assert Company.objects.get().name == "Kestrel Robotics"


def test_teammates_free_mail_and_blocked_contacts_are_not_people(acme, owner, teammate):
    from copilot.intelligence.services import mail_rule_add_block

    mail_rule_add_block(organization=acme, actor=owner, value="quillstone.example", confirmed=True)
    deliver(
        book(owner),
        [
            contact("c1", teammate.email, display_name="Tom Mate"),
            contact("c2", "friend@gmail.com", display_name="Old Friend", company="Friends Inc"),
            contact("c3", "lawyer@quillstone.example"),
            contact("c4", "bad address"),
        ],
    )
    assert not Person.objects.exists() and not Company.objects.exists()


def test_a_deleted_contact_keeps_the_person_and_takes_only_its_folders(acme, owner, teammate):
    deliver(book(owner), [contact("people/c1", MEI, folders=("Customers",))])
    deliver(book(teammate), [contact("AAMk1", MEI, folders=("Prospects",))])
    deliver(book(owner), [Deletion("contacts", "people/c1")])
    mei = Person.objects.get()
    assert (mei.address_book_folders, mei.in_address_book) == (["Prospects"], True)
    deliver(book(teammate), [Deletion("contacts", "AAMk1"), Deletion("contacts", "unknown")])
    mei = Person.objects.get()
    assert (mei.email, mei.address_book_folders, mei.in_address_book) == (MEI, [], False)


def test_a_contact_moved_to_another_folder_or_address_leaves_the_old_one(acme, owner):
    deliver(book(owner), [contact("people/c1", MEI, folders=("Prospects",))])
    deliver(book(owner), [contact("people/c1", MEI, folders=("Customers",))])
    assert Person.objects.get(email=MEI).address_book_folders == ["Customers"]
    deliver(book(owner), [contact("people/c1", "mei@new.example", folders=("Customers",))])
    assert Person.objects.get(email=MEI).in_address_book is False
    assert Person.objects.get(email="mei@new.example").address_book_folders == ["Customers"]


def test_a_page_delivered_twice_changes_nothing(acme, owner):
    page = [
        contact(f"c{n}", f"p{n}@customer{n % 3}.example", display_name=f"P {n}", folders=("A",))
        for n in range(6)
    ]
    deliver(book(owner), page)
    before = sorted(
        Person.objects.values_list("pk", "email", "name", "address_book_folders", "company", "updated_at")
    )
    deliver(book(owner), page)
    assert (
        sorted(
            Person.objects.values_list("pk", "email", "name", "address_book_folders", "company", "updated_at")
        )
        == before
    )
