"""Recognizer unit tests on hand-written text (no shared data)."""
import pytest

from transforms.records import Participant
from transforms.redaction.recognizers import (
    MeetingIdentifierRecognizer,
    PhoneNumberRecognizer,
    RosterRecognizer,
    StreetAddressRecognizer,
)
from transforms.redaction.recognizers.iban_code_recognizer import IbanCodeRecognizer


def _found(recognizer, text):
    return [text[r.start:r.end] for r in recognizer.analyze(text, [], None) if r.score >= 0.5]


@pytest.mark.parametrize("text, expected", [
    ("Ship it to 1467 Hastings Street, Springfield, MA 02351 please", "1467 Hastings Street, Springfield, MA 02351"),
    ("Send to 12 Rue de la Paix\nParis, 75002", "12 Rue de la Paix\nParis, 75002"),
    ("Meet at 9 Auerstrasse 84\n Apt. 469\n Lyss\n Switzerland", "9 Auerstrasse 84\n Apt. 469\n Lyss\n Switzerland"),
    ("Mail: PO Box 4410, Denver", "PO Box 4410, Denver"),
    ("Unit 9104 Box 2779\nDPO AP 29547", "Unit 9104 Box 2779\nDPO AP 29547"),
    ("my address is 12 oak lane\n apt. 4\n dover", "12 oak lane\n apt. 4\n dover"),
    ("the office is at 40 Vesterbrogade 12 Suite 300 Copenhagen", "40 Vesterbrogade 12 Suite 300 Copenhagen"),
])
def test_street_addresses(text, expected):
    assert expected in _found(StreetAddressRecognizer(), text)


@pytest.mark.parametrize("text", [
    "We have 3 Apples and 4 pears.",
    "Section 3 of chapter 12 covers item 4.",
    "Windows 10 and Python 3 are fine.",
    "We bought 32 ETH and sold 2048 ETH.",
    "In 2019 the remote control cost 25 euros.",
])
def test_street_address_false_positives(text):
    assert _found(StreetAddressRecognizer(), text) == []


@pytest.mark.parametrize("text, expected", [
    ("call (845) 450 5693 now", "(845) 450 5693"),
    ("+1-212-456-7890", "+1-212-456-7890"),
    ("office 089 72 63 41, thanks", "089 72 63 41"),
    ("mobile 916.972.1680x22008 mobile", "916.972.1680x22008"),
    ("21 232 945 1338-Office", "21 232 945 1338"),
    ("+12312322334", "+12312322334"),
])
def test_phone_numbers(text, expected):
    assert expected in _found(PhoneNumberRecognizer(), text)


@pytest.mark.parametrize("text", [
    "between 2019-2020 and 2021-03-04", "ip 192.168.14.201", "ssn 284-89-3485", "pi is 3.14159265",
    "about 1,500,000 units", "call at 10:30",
])
def test_phone_false_positives(text):
    assert _found(PhoneNumberRecognizer(), text) == []


def test_meeting_identifiers():
    text = ("Join Zoom Meeting https://us02web.zoom.us/j/84512345678?pwd=QWxhZGRp. Meeting ID: 845 1234 5678 "
            "Passcode: 99x7k2 or dial +1 646 558 8656,,84512345678# and meet.google.com/abc-defg-hij")
    found = {(r.entity_type, text[r.start:r.end]) for r in MeetingIdentifierRecognizer().analyze(text, [], None)}
    assert ("MEETING_URL", "https://us02web.zoom.us/j/84512345678?pwd=QWxhZGRp") in found
    assert ("MEETING_ID", "845 1234 5678") in found
    assert ("MEETING_PASSCODE", "99x7k2") in found
    assert ("MEETING_ID", "+1 646 558 8656,,84512345678#") in found
    assert any(t == "MEETING_URL" and "abc-defg-hij" in v for t, v in found)


def test_iban_any_case_and_checksum():
    rec = IbanCodeRecognizer()
    assert _found(rec, "my iban is gb82west12345698765432.") == ["gb82west12345698765432"]
    assert _found(rec, "IBAN GB82 WEST 1234 5698 7654 32 ok") == ["GB82 WEST 1234 5698 7654 32"]
    assert _found(rec, "IBAN GB82WEST12345698765433") == []


def test_roster_identity_and_ambiguous_first_names():
    roster = (Participant("1", "Alex Moreau"), Participant("2", "Alex Kim"), Participant("3", "Will Stone"))
    rec = RosterRecognizer(roster)
    text = "alex said Moreau and Kim agree; we will ask Will."
    spans = {text[r.start:r.end]: r.recognition_metadata["participant_key"] for r in rec.analyze(text, [], None)}
    assert spans["alex"] is None                       # shared first name: PII, but no single identity
    assert spans["Moreau"] == "alex moreau" and spans["Kim"] == "alex kim"
    assert spans["Will"] == "will stone" and "will" not in spans   # common word only when capitalised


def test_ssn_structure_recognizer_keeps_sample_numbers_presidio_drops():
    from transforms.redaction.recognizers.us_ssn_recognizer import UsSsnStructureRecognizer

    recognizer = UsSsnStructureRecognizer()
    text = "SSN 078-05-1120; alt 123 45 6789; ssn: 219099999; not 000-12-3456 nor 666-12-3456 nor 123456789"
    found = [text[r.start:r.end] for r in recognizer.analyze(text, ["US_SSN"])]
    assert found == ["078-05-1120", "123 45 6789", "219099999"]
