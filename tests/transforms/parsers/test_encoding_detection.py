"""Encoding detection: BOMs, BOM-less UTF-16, strict UTF-8, flagged cp1252 / latin-1 fallback."""
import codecs

import pytest

from transforms.parsers.base import ArtifactRejected
from transforms.parsers.encoding import decode_json, decode_text, normalize_newlines
from transforms.records import DeadLetterReason

TEXT = "WEBVTT\r\n\r\n1\r\n00:00:01.000 --> 00:00:02.000\r\nZoë Ñúñez: héllo – “quoted”\r\n"


def test_plain_utf8_is_not_a_fallback():
    decoded = decode_text(TEXT.encode("utf-8"))
    assert decoded.text == TEXT
    assert (decoded.encoding, decoded.fallback) == ("utf-8", False)


def test_utf8_bom_is_removed():
    decoded = decode_text(codecs.BOM_UTF8 + TEXT.encode("utf-8"))
    assert decoded.text == TEXT
    assert decoded.encoding == "utf-8" and not decoded.fallback


@pytest.mark.parametrize("codec,bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)])
def test_utf16_with_bom(codec, bom):
    decoded = decode_text(bom + TEXT.encode(codec))
    assert decoded.text == TEXT
    assert decoded.encoding == codec and not decoded.fallback


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_detected_from_nul_pattern(codec):
    decoded = decode_text(TEXT.encode(codec))
    assert decoded.text == TEXT
    assert decoded.encoding == codec


def test_cp1252_fallback_is_flagged():
    payload = "Caf\u00e9 \u201cquoted\u201d \u2013 na\u00efve".encode("cp1252")
    decoded = decode_text(payload)
    assert decoded.text == "Caf\u00e9 \u201cquoted\u201d \u2013 na\u00efve"
    assert (decoded.encoding, decoded.fallback) == ("cp1252", True)


def test_latin1_fallback_when_cp1252_cannot_decode():
    payload = b"abc d\xe9f ghi jkl mno pqr stu vwx yz \x81 end"   # 0x81 is undefined in cp1252
    decoded = decode_text(payload)
    assert (decoded.encoding, decoded.fallback) == ("latin-1", True)
    assert decoded.text.startswith("abc ")


def test_line_endings_are_kept_raw_and_normalized_on_request():
    decoded = decode_text(b"a\r\nb\nc\rd")
    assert decoded.text == "a\r\nb\nc\rd"
    assert decoded.normalized == "a\nb\nc\nd"
    assert normalize_newlines("x\r\n\r\ny") == "x\n\ny"


@pytest.mark.parametrize("payload", [b"", b"   \r\n\t", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"  \n",
                                     codecs.BOM_UTF16_LE + " \n".encode("utf-16-le")])
def test_blank_payloads_are_empty(payload):
    with pytest.raises(ArtifactRejected) as caught:
        decode_text(payload)
    assert caught.value.reason is DeadLetterReason.EMPTY


@pytest.mark.parametrize("payload", [b"text\x00with\x00\x00nuls\x00\x00\x00 and more \x00\x00\x07",
                                     bytes(range(0, 32)) * 20, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"])
def test_nul_and_control_heavy_bytes_are_binary_garbage(payload):
    with pytest.raises(ArtifactRejected) as caught:
        decode_text(payload)
    assert caught.value.reason is DeadLetterReason.BINARY_GARBAGE


def test_invalid_bytes_after_utf16_bom_are_undecodable():
    with pytest.raises(ArtifactRejected) as caught:
        decode_text(codecs.BOM_UTF16_LE + b"\x00\xd8a")   # lone high surrogate, odd length
    assert caught.value.reason is DeadLetterReason.UNDECODABLE


def test_rejection_message_carries_no_content():
    with pytest.raises(ArtifactRejected) as caught:
        decode_text(b"secret-name\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
    assert "secret" not in str(caught.value)


def test_decode_json_reason_codes():
    assert decode_json(b'{"a": [1]}')[0] == {"a": [1]}
    with pytest.raises(ArtifactRejected) as broken:
        decode_json(b'{"a": [1}')
    assert broken.value.reason is DeadLetterReason.MALFORMED
    with pytest.raises(ArtifactRejected) as not_json:
        decode_json(b"WEBVTT\n\n")
    assert not_json.value.reason is DeadLetterReason.WRONG_FORMAT
    with pytest.raises(ArtifactRejected) as deep:
        decode_json(b"[" * 100_000)
    assert deep.value.reason is DeadLetterReason.MALFORMED
