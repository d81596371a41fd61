"""Roster matching: names (case, whitespace, diacritics), e-mails, handles, Zoom decorations."""
import pytest

from transforms.parsers.roster import Roster, normalize_label, strip_decorations
from transforms.records import Participant

ROSTER = Roster([
    Participant("p-dima", "Dima Gusakov", "dima@lido.example"),
    Participant("p-charlie", "Charlie Barlie", "charlie@example.org"),
    Participant("p-terence", "Terence Tsao", "terence@example.org", ("prysmaticlabs",)),
    Participant("p-jose", "José Müller"),
    Participant("p-ann1", "Ann Lee"),
    Participant("p-ann2", "ann  LEE", "ann2@example.org"),
    Participant("p-kalo", "Kalo", handles=("@kalo_obol",)),
])


@pytest.mark.parametrize("label,expected", [
    ("Dima Gusakov", "p-dima"),
    ("  dima   GUSAKOV ", "p-dima"),
    ("Dima Gusakov | Lido", "p-dima"),
    ("Charlie Barlie (she/her)", "p-charlie"),
    ("charlie barlie (she/her) | Acme", "p-charlie"),
    ("terence(prysmaticlabs)", "p-terence"),
    ("Terence Tsao (Prysm)", "p-terence"),
    ("prysmaticlabs", "p-terence"),
    ("@prysmaticlabs", "p-terence"),
    ("Jose Muller", "p-jose"),
    ("JOSÉ MÜLLER", "p-jose"),
    ("CHARLIE@example.org", "p-charlie"),
    ("kalo_obol", "p-kalo"),
    ("Kalo | Obol", "p-kalo"),
])
def test_matches(label, expected):
    assert ROSTER.match(label) == expected


@pytest.mark.parametrize("label", ["Ann Lee", "ann lee (she/her)", "Nobody Known", "", "   ", None,
                                   "Dima", "she/her", "(prysmaticlabs)"])
def test_unmatched_or_ambiguous_is_none(label):
    assert ROSTER.match(label) is None


def test_parenthesised_part_is_only_tried_as_a_handle():
    roster = Roster([Participant("p-geth", "Geth"), Participant("p-felix", "Felix Lange")])
    assert roster.match("Felix (Geth)") is None           # "Geth" is a name, not Felix's handle
    assert roster.match("Felix Lange (Geth)") == "p-felix"


def test_ambiguity_across_keys_fails_closed():
    roster = Roster([Participant("a", "Sam"), Participant("b", "Samuel Smith", handles=("sam",))])
    assert roster.match("Sam") is None


def test_match_email_and_empty_roster():
    assert ROSTER.match_email("Dima@Lido.Example ") == "p-dima"
    assert ROSTER.match_email("nobody@example.org") is None
    empty = Roster(())
    assert not empty and empty.match("Dima Gusakov") is None


def test_helpers():
    assert normalize_label("  Zoë   ÅSE ") == "zoe ase"
    assert strip_decorations("Ann Lee (she/her) | Acme") == ("Ann Lee", ("she/her",))
    assert strip_decorations("terence(prysmaticlabs)") == ("terence", ("prysmaticlabs",))
    assert strip_decorations("(only parens)") == ("(only parens)", ())
