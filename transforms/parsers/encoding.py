"""Bytes → text for every text format, with explicit, recorded fallbacks.

Order: BOM (UTF-8, UTF-32 LE/BE, UTF-16 LE/BE) → BOM-less UTF-16 (NUL pattern) →
strict UTF-8 → cp1252 → latin-1. The last two set ``fallback=True`` so the artifact
records that its encoding was guessed. Line endings are *not* touched by
``decode_text``: the Zoom chat export uses CRLF to end a message and bare LF inside
one, so parsers that need the raw endings read ``DecodedText.text`` and everyone else
calls ``normalize_newlines``.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from transforms.parsers.base import ArtifactRejected
from transforms.records import DeadLetterReason

# Characters that carry no text: whitespace plus format characters a blank file may hold.
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060\u00a0"
# C0/C1 controls except \t \n \v \f \r, lone surrogates, private-use characters.
_CONTROL_CHARS = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\U000f0000-\U0010ffff]")
# Above this share of control characters a "text" payload is treated as binary.
_MAX_CONTROL_RATIO = 0.05

_BOMS: Tuple[Tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),   # before UTF-16 LE: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True)
class DecodedText:
    text: str                 # BOM removed, original line endings kept
    encoding: str
    fallback: bool = False    # True when a guessed single-byte codec was used

    @property
    def normalized(self) -> str:
        return normalize_newlines(self.text)


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR → LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_blank(text: str) -> bool:
    """True when the text has no visible characters."""
    return not text.strip().strip(_INVISIBLE).strip()


def is_blank_bytes(payload: bytes) -> bool:
    """Zero bytes, ASCII whitespace, or a bare BOM."""
    stripped = payload.strip()
    return not stripped or stripped in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _utf16_without_bom(payload: bytes) -> Optional[str]:
    """Detect BOM-less UTF-16 from the NUL pattern of mostly-ASCII text."""
    sample = payload[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_nuls = sum(1 for i in range(0, pairs * 2, 2) if sample[i] == 0)
    odd_nuls = sum(1 for i in range(1, pairs * 2, 2) if sample[i] == 0)
    if odd_nuls >= 0.4 * pairs and even_nuls <= 0.05 * pairs:
        codec = "utf-16-le"
    elif even_nuls >= 0.4 * pairs and odd_nuls <= 0.05 * pairs:
        codec = "utf-16-be"
    else:
        return None
    if len(payload) % 2:
        return None
    try:
        return codec if payload.decode(codec) is not None else None
    except UnicodeDecodeError:
        return None


def _check_textual(text: str) -> None:
    if "\x00" in text:
        raise ArtifactRejected(DeadLetterReason.BINARY_GARBAGE, "NulInText")
    if not text:
        return
    controls = sum(1 for _ in _CONTROL_CHARS.finditer(text))
    if controls > _MAX_CONTROL_RATIO * len(text):
        raise ArtifactRejected(DeadLetterReason.BINARY_GARBAGE, "ControlCharacters")


def decode_text(payload: bytes) -> DecodedText:
    """Decode a text payload or raise ``ArtifactRejected`` (EMPTY, BINARY_GARBAGE, UNDECODABLE)."""
    if is_blank_bytes(payload):
        raise ArtifactRejected(DeadLetterReason.EMPTY, "EmptyPayload")
    decoded: Optional[DecodedText] = None
    for bom, codec in _BOMS:
        if payload.startswith(bom):
            try:
                decoded = DecodedText(payload[len(bom):].decode(codec), codec)
            except UnicodeDecodeError:
                raise ArtifactRejected(DeadLetterReason.UNDECODABLE, "InvalidForBom") from None
            break
    if decoded is None:
        codec = _utf16_without_bom(payload)
        if codec is not None:
            decoded = DecodedText(payload.decode(codec), codec)
    if decoded is None:
        if b"\x00" in payload:
            raise ArtifactRejected(DeadLetterReason.BINARY_GARBAGE, "NulBytes")
        try:
            decoded = DecodedText(payload.decode("utf-8"), "utf-8")
        except UnicodeDecodeError:
            try:
                decoded = DecodedText(payload.decode("cp1252"), "cp1252", fallback=True)
            except UnicodeDecodeError:
                decoded = DecodedText(payload.decode("latin-1"), "latin-1", fallback=True)
    _check_textual(decoded.text)
    if is_blank(decoded.text):
        raise ArtifactRejected(DeadLetterReason.EMPTY, "BlankText")
    return decoded


def decode_json(payload: bytes) -> Tuple[object, DecodedText]:
    """Decode and ``json.loads``; not JSON at all → WRONG_FORMAT, broken JSON → MALFORMED."""
    import json

    decoded = decode_text(payload)
    text = decoded.text.lstrip("\ufeff").strip()
    try:
        return json.loads(text), decoded
    except (ValueError, RecursionError):
        if text[:1] in ("{", "["):
            raise ArtifactRejected(DeadLetterReason.MALFORMED, "InvalidJson") from None
        raise ArtifactRejected(DeadLetterReason.WRONG_FORMAT, "NotJson") from None
