import pytest

from transforms.redaction.residual import iban_valid, is_redaction_token, luhn_valid, residual_scan


@pytest.mark.parametrize("text, kind", [
    ("write to jane.doe@example.com", "EMAIL_ADDRESS"),
    ("call +1 415-555-0172 today", "PHONE_NUMBER"),
    ("call (415) 555-0172 today", "PHONE_NUMBER"),
    ("card 4929 3813 3266 4295", "CREDIT_CARD"),
    ("ssn 284-89-3485", "US_SSN"),
    ("iban GB82 WEST 1234 5698 7654 32", "IBAN_CODE"),
    ("host 10.41.21.72 is down", "IP_ADDRESS"),
    ("join https://zoom.us/j/845123?pwd=abc123", "MEETING_URL"),
    ("link?pwd=abc123", "MEETING_PASSCODE"),
])
def test_finds_each_type(text, kind):
    assert dict(residual_scan(text)).get(kind, 0) >= 1


@pytest.mark.parametrize("text", [
    "card 4929 3813 3266 4296",          # Luhn fails
    "iban GB82 WEST 1234 5698 7654 33",  # mod-97 fails
    "ssn 000-12-3456",                   # invalid area
    "version 1.2.3.4.5 and 999.1.1.1",
    "We met in 2019-2020, item 3.14, 1,500,000 units.",
])
def test_checksums_and_shapes_reject_lookalikes(text):
    assert residual_scan(text) == ()


def test_own_tokens_are_never_findings():
    text = ("<PERSON_7f3a9c21> mailed <EMAIL_ADDRESS_12345678> from <IP_ADDRESS_00000000> "
            "<PHONE_NUMBER_41555501> <CREDIT_CARD> <US_SSN> <MEETING_URL>")
    assert residual_scan(text) == ()
    assert all(is_redaction_token(t) for t in text.replace(" mailed ", " ").replace(" from ", " ").split())


def test_checksum_helpers():
    assert luhn_valid("4929381332664295") and not luhn_valid("4929381332664296")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765433")
