"""Recognizer catalogue: the classes a redaction config may name, and nothing else.

Only the recognizers a configuration lists are instantiated and registered.
"""
from __future__ import annotations

from typing import Callable, Dict

from presidio_analyzer import EntityRecognizer
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UrlRecognizer,
    UsLicenseRecognizer,
    UsSsnRecognizer,
)

from transforms.redaction.recognizer_names import KNOWN_RECOGNIZERS, SPACY_RECOGNIZER
from transforms.redaction.recognizers.iban_code_recognizer import IbanCodeRecognizer
from transforms.redaction.recognizers.meeting_identifier_recognizer import MeetingIdentifierRecognizer
from transforms.redaction.recognizers.offline_email_recognizer import OfflineEmailRecognizer
from transforms.redaction.recognizers.person_name_recognizer import PersonNameRecognizer
from transforms.redaction.recognizers.phone_number_recognizer import PhoneNumberRecognizer
from transforms.redaction.recognizers.roster_recognizer import RosterRecognizer
from transforms.redaction.recognizers.street_address_recognizer import StreetAddressRecognizer
from transforms.redaction.recognizers.us_ssn_recognizer import UsSsnStructureRecognizer

# "SpacyRecognizer" is built by the engine from the NLP engine's entity mapping.
RECOGNIZER_CATALOGUE: Dict[str, Callable[..., EntityRecognizer]] = {
    "CreditCardRecognizer": CreditCardRecognizer,
    "IbanRecognizer": IbanRecognizer,
    "IpRecognizer": IpRecognizer,
    "PresidioPhoneRecognizer": PhoneRecognizer,
    "UrlRecognizer": UrlRecognizer,
    "UsLicenseRecognizer": UsLicenseRecognizer,
    "UsSsnRecognizer": UsSsnRecognizer,
    "OfflineEmailRecognizer": OfflineEmailRecognizer,
    "PhoneNumberRecognizer": PhoneNumberRecognizer,
    "StreetAddressRecognizer": StreetAddressRecognizer,
    "MeetingIdentifierRecognizer": MeetingIdentifierRecognizer,
    "PersonNameRecognizer": PersonNameRecognizer,
    "IbanCodeRecognizer": IbanCodeRecognizer,
    "UsSsnStructureRecognizer": UsSsnStructureRecognizer,
}
if tuple(sorted(RECOGNIZER_CATALOGUE)) + (SPACY_RECOGNIZER,) != KNOWN_RECOGNIZERS:
    raise ImportError("recognizer_names.KNOWN_RECOGNIZERS and RECOGNIZER_CATALOGUE disagree")

__all__ = ["RECOGNIZER_CATALOGUE", "KNOWN_RECOGNIZERS", "RosterRecognizer", "StreetAddressRecognizer",
           "PhoneNumberRecognizer", "MeetingIdentifierRecognizer", "OfflineEmailRecognizer", "PersonNameRecognizer", "IbanCodeRecognizer",
           "UsSsnStructureRecognizer"]
