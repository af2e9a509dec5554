"""Ignore and Block (B7): one test per rule sentence of the admin guide, plus how entries match.

The team is acme.example (sellers ``ann@`` and ``bob@``); ``buyer@bluefin.example`` is a customer."""

from __future__ import annotations

import pytest

from copilot.intelligence.rules import (
    BLOCK,
    IGNORE,
    RULE_ALL_IGNORED,
    RULE_BLOCKED,
    RULE_IGNORED_NO_TEAMMATE,
    RULE_INGESTED,
    RULE_NO_PARTICIPANTS,
    RuleBook,
    decide,
    is_free_mail,
)

SELLER, OTHER_SELLER = "ann@acme.example", "bob@acme.example"
BUYER = "buyer@bluefin.example"
TEAM = {
    "internal_domains": frozenset({"acme.example"}),
    "internal_addresses": frozenset({SELLER, OTHER_SELLER}),
}
DEFAULTS = {"gmail.com": IGNORE, "hotmail.com": IGNORE}


def book_decide(book: dict[str, str], *participants: str):
    return decide(participants, rules=RuleBook(book), **TEAM)


# --- Ignore ----------------------------------------------------------------------------------------


def test_ignore_works_best_for_emails_that_do_not_provide_context_between_buyers_and_sellers():
    # Personal addresses with neither a customer nor a teammate who isn't ignored: nothing about
    # buyers and sellers to learn, so the default list keeps it off the timeline.
    decision = book_decide(DEFAULTS, "friend@gmail.com", "someone@hotmail.com")
    assert (decision.ingest, decision.rule) == (False, RULE_ALL_IGNORED)


def test_emails_exchanged_between_ignored_users_and_a_non_ignored_user_will_be_ingested():
    decision = book_decide(DEFAULTS, "candidate@gmail.com", SELLER)
    assert (decision.ingest, decision.rule) == (True, RULE_INGESTED)
    assert decision.party == "candidate@gmail.com" and decision.entry == "gmail.com"
    assert "ann@acme.example" in decision.explanation


@pytest.mark.parametrize(
    ("others", "book", "rule", "party"),
    [
        (["other@hotmail.com"], DEFAULTS, RULE_ALL_IGNORED, "friend@gmail.com"),  # another ignored user
        (  # a blocked user
            ["ceo@vendor.example"],
            {**DEFAULTS, "vendor.example": BLOCK},
            RULE_BLOCKED,
            "ceo@vendor.example",
        ),
        ([BUYER], DEFAULTS, RULE_IGNORED_NO_TEAMMATE, "friend@gmail.com"),  # an external company
        ([BUYER, "other@hotmail.com"], DEFAULTS, RULE_IGNORED_NO_TEAMMATE, "friend@gmail.com"),
    ],
    ids=["ignored", "blocked", "external", "external-and-ignored"],
)
def test_emails_between_ignore_users_and_other_ignored_users_blocked_users_or_external_companies_will_not_be_ingested(
    others, book, rule, party
):
    decision = book_decide(book, "friend@gmail.com", *others)
    assert decision.ingest is False
    assert (decision.rule, decision.party) == (rule, party)


def test_emails_that_only_include_sellers_can_be_excluded_by_adding_your_domain_to_the_ignore_list():
    assert book_decide(DEFAULTS, SELLER, OTHER_SELLER).ingest is True  # by default seller-only mail is kept
    own = {**DEFAULTS, "acme.example": IGNORE}
    decision = book_decide(own, SELLER, OTHER_SELLER)
    assert (decision.ingest, decision.rule, decision.entry) == (False, RULE_ALL_IGNORED, "acme.example")
    # ... and only that mail: a seller's conversation with a customer still comes in.
    assert book_decide(own, SELLER, BUYER).ingest is True
    # A seller, a customer and an ignored outsider, with the sellers ignored: nobody anchors it.
    assert book_decide(own, SELLER, BUYER, "friend@gmail.com").rule == RULE_IGNORED_NO_TEAMMATE


# --- Block -----------------------------------------------------------------------------------------


def test_block_works_best_for_sensitive_communications():
    # Even mail among teammates only is dropped when a blocked address takes part.
    book = {**DEFAULTS, "ceo@acme.example": BLOCK}
    decision = book_decide(book, SELLER, "ceo@acme.example")
    assert (decision.ingest, decision.rule, decision.party) == (False, RULE_BLOCKED, "ceo@acme.example")


@pytest.mark.parametrize(
    "others",
    [[SELLER], [BUYER], [SELLER, BUYER], ["friend@gmail.com", SELLER], [SELLER, OTHER_SELLER, BUYER]],
)
def test_emails_exchanged_between_users_marked_as_block_and_any_other_users_or_external_companies_will_not_be_ingested(
    others,
):
    book = {**DEFAULTS, "quillstone.example": BLOCK}
    for position in range(len(others) + 1):  # wherever the blocked party appears
        parties = [*others[:position], "lawyer@quillstone.example", *others[position:]]
        decision = book_decide(book, *parties)
        assert (decision.ingest, decision.rule) == (False, RULE_BLOCKED)
        assert decision.entry == "quillstone.example"
        assert "Block list" in decision.explanation


def test_customers_often_block_the_ceo_address_or_the_contracted_law_firm_domain():
    book = {**DEFAULTS, "ceo@acme.example": BLOCK, "quillstone.example": BLOCK}
    assert book_decide(book, "ceo@acme.example", BUYER).rule == RULE_BLOCKED
    assert book_decide(book, SELLER, "partner@quillstone.example").rule == RULE_BLOCKED
    assert book_decide(book, SELLER, BUYER).ingest is True  # everyone else is unaffected


# --- How entries match -----------------------------------------------------------------------------


def test_an_address_entry_wins_over_its_domain_entry():
    book = RuleBook({"bluefin.example": BLOCK, "friend@bluefin.example": IGNORE})
    assert book.match("friend@bluefin.example").action == IGNORE
    assert book.match("other@bluefin.example").action == BLOCK
    assert book_decide(
        {"bluefin.example": BLOCK, "friend@bluefin.example": IGNORE}, SELLER, "friend@bluefin.example"
    ).ingest

    reverse = RuleBook({"gmail.com": IGNORE, "leaker@gmail.com": BLOCK})
    assert reverse.match("leaker@gmail.com").action == BLOCK
    assert (
        book_decide({"gmail.com": IGNORE, "leaker@gmail.com": BLOCK}, SELLER, "leaker@gmail.com").rule
        == RULE_BLOCKED
    )


def test_a_domain_entry_covers_its_subdomains_and_the_most_specific_entry_wins():
    book = RuleBook({"example.com": BLOCK, "eu.example.com": IGNORE})
    assert book.match("a@sub.example.com").entry == "example.com"
    assert book.match("a@x.eu.example.com") == book.match("a@eu.example.com")
    assert book.match("a@eu.example.com").action == IGNORE
    assert book.match("a@notexample.com") is None  # a suffix of the name is not a subdomain
    assert book.match("a@example.com.evil") is None


def test_matching_ignores_case_and_spaces():
    decision = decide([" Friend@GMAIL.com ", SELLER.upper()], rules=RuleBook({"Gmail.COM": IGNORE}), **TEAM)
    assert decision.ingest and decision.party == "friend@gmail.com"


def test_teammates_of_a_subdomain_are_teammates():
    decision = book_decide(DEFAULTS, "friend@gmail.com", "ops@eu.acme.example")
    assert decision.ingest is True


def test_a_message_without_participants_is_not_ingested():
    assert book_decide(DEFAULTS).rule == RULE_NO_PARTICIPANTS
    assert book_decide(DEFAULTS, "", "  ").ingest is False


def test_seller_only_mail_and_customer_mail_are_ingested_without_entries():
    assert book_decide({}, SELLER, OTHER_SELLER).rule == RULE_INGESTED
    assert book_decide({}, SELLER, BUYER).ingest is True


def test_free_mail_domains_include_subdomains_of_the_list():
    assert is_free_mail("gmail.com") and is_free_mail("mail.yahoo.com") and is_free_mail("yahoo.co.uk")
    assert not is_free_mail("bluefin.example")
