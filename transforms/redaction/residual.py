"""Residual scan: an independent, high-precision regex pass over redacted text.

Deliberately not Presidio: plain regexes with checksums (Luhn for cards, mod-97 for
IBANs, SSN area rules, IPv4 octet ranges) so a miss in the redaction engine is not
repeated here. Pseudonym tokens and placeholders are removed before scanning, so the
stage's own output never counts as a finding. Returns (type, count) pairs only.
"""
from __future__ import annotations

import ipaddress
import re
from collections import Counter
from typing import Tuple

PSEUDONYM_PATTERN = re.compile(r"<[A-Z][A-Z0-9_]*_[0-9a-f]{6,64}>")
PLACEHOLDER_PATTERN = re.compile(r"<[A-Z][A-Z0-9_]*>")
_REDACTION_TOKEN = re.compile(r"<[A-Z][A-Z0-9_]*(?:_[0-9a-f]{6,64})?>")

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-])")
_PHONE = re.compile(
    r"(?<![\w+.-])(?<!\d[ .-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]\d{3,4}(?![\w-]|[ .,-]\d)"
    r"|(?<![\w+])\+\d{10,14}(?!\w)")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_SSN = re.compile(r"(?<![\d-])(\d{3})[- ](\d{2})[- ](\d{4})(?![\d-])")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)\b", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])")
_JOIN_URL = re.compile(r"(?i)(?:https?://)?(?:[\w-]+\.)*(?:zoom\.us|zoomgov\.com|teams\.microsoft\.com|webex\.com)/\S+")
_PASSCODE_PARAM = re.compile(r"(?i)[?&](?:pwd|passcode|password)=\w+")


def is_redaction_token(token: str) -> bool:
    """True for a well-formed pseudonym (``<PERSON_7f3a9c21>``) or placeholder (``<PERSON>``)."""
    return bool(PSEUDONYM_PATTERN.fullmatch(token) or PLACEHOLDER_PATTERN.fullmatch(token))


def luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 13:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    value = candidate.replace(" ", "").upper()
    if not 15 <= len(value) <= 34:
        return False
    rearranged = value[4:] + value[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
    except ValueError:
        return False


def ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def _ip_valid(candidate: str) -> bool:
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return not (address.is_unspecified or address.is_loopback)


def residual_scan(text: str) -> Tuple[Tuple[str, int], ...]:
    """Count high-confidence PII left in ``text``, by type, sorted by type name."""
    if not text:
        return ()
    scrubbed = _REDACTION_TOKEN.sub(" ", text)
    counts: Counter = Counter()
    if "@" in scrubbed:
        counts["EMAIL_ADDRESS"] += len(_EMAIL.findall(scrubbed))
    if any(ch.isdigit() for ch in scrubbed):
        cards = [m for m in _CARD.findall(scrubbed) if luhn_valid(m)]
        counts["CREDIT_CARD"] += len(cards)
        counts["US_SSN"] += sum(1 for m in _SSN.finditer(scrubbed) if ssn_valid(*m.groups()))
        counts["PHONE_NUMBER"] += len(_PHONE.findall(scrubbed))
        counts["IBAN_CODE"] += sum(1 for m in _IBAN.findall(scrubbed) if iban_valid(m))
        counts["IP_ADDRESS"] += sum(1 for m in _IPV4.findall(scrubbed) if _ip_valid(m))
        counts["IP_ADDRESS"] += sum(1 for m in _IPV6.findall(scrubbed) if _ip_valid(m))
    lowered = scrubbed.lower()
    if "zoom" in lowered or "teams" in lowered or "webex" in lowered:
        counts["MEETING_URL"] += len(_JOIN_URL.findall(scrubbed))
    if "=" in scrubbed:
        counts["MEETING_PASSCODE"] += len(_PASSCODE_PARAM.findall(scrubbed))
    return tuple(sorted((k, v) for k, v in counts.items() if v))
