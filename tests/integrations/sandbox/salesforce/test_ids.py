"""Record ids: the 18-character checksum Salesforce appends, and what counts as malformed."""

from __future__ import annotations

from integrations.sandbox.salesforce.ids import make_id, normalize, to18


def test_the_checksum_matches_salesforces_documented_example() -> None:
    # The REST API guide's sample Account id.
    assert to18("001D000000IqhSL") == "001D000000IqhSLIAZ"


def test_normalize_accepts_15_and_18_characters_and_refuses_the_rest() -> None:
    assert normalize("001D000000IqhSL") == normalize("001D000000IqhSLiaz") == "001D000000IqhSLIAZ"
    assert normalize("001D000000IqhSLIAA") is None  # a checksum that does not match
    assert normalize("001D000000Iqh") is None
    assert normalize("001D000000IqhS!") is None


def test_generated_ids_are_valid_and_distinct() -> None:
    made = {make_id("00Q", serial) for serial in range(1, 5000)}

    assert len(made) == 4999
    assert all(normalize(i) == i and i.startswith("00Q") for i in made)
