"""The recognizer names a redaction config may use, without importing Presidio or spaCy.

The pipeline checks a config against these names when it is built (on the driver), which
then needs neither library; ``recognizers.RECOGNIZER_CATALOGUE`` maps the same names to classes
and refuses to import if the two lists disagree.
"""
from __future__ import annotations

# "SpacyRecognizer" is built by the engine from the NLP engine's entity mapping.
SPACY_RECOGNIZER = "SpacyRecognizer"
KNOWN_RECOGNIZERS = (
    "CreditCardRecognizer",
    "IbanCodeRecognizer",
    "IbanRecognizer",
    "IpRecognizer",
    "MeetingIdentifierRecognizer",
    "OfflineEmailRecognizer",
    "PersonNameRecognizer",
    "PhoneNumberRecognizer",
    "PresidioPhoneRecognizer",
    "StreetAddressRecognizer",
    "UrlRecognizer",
    "UsLicenseRecognizer",
    "UsSsnRecognizer",
    "UsSsnStructureRecognizer",
    SPACY_RECOGNIZER,
)
