"""Guards shared by the binary parsers: magic-number sniffing and OOXML zip inspection.

Office Open XML files (docx, pptx, xlsx) are zip containers. Before a library opens
one, ``open_ooxml`` inspects the zip central directory without decompressing anything
large: total declared size, compression ratio and entry count must stay under the
configured ``IngestLimits``, no entry may be encrypted, and the XML parts must not
declare a DTD (no entity expansion, no external entities). ``zipfile`` itself never
returns more bytes for an entry than its central-directory size, so checking the
declared sizes bounds what the libraries can inflate.

Nothing here logs, and every rejection carries a reason code only.
"""
from __future__ import annotations

import contextlib
import io
import re
import zipfile
import zlib
from typing import Iterator, Optional, Tuple

from pipeline.config import IngestLimits
from transforms.parsers.base import ArtifactRejected
from transforms.records import DeadLetterReason

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_LOCAL_MAGIC = b"PK\x03\x04"
ZIP_EMPTY_MAGIC = b"PK\x05\x06"
_ENCRYPTED_PACKAGE_UTF16 = "EncryptedPackage".encode("utf-16-le")

# More entries than any real office document has; also bounds central-directory work.
MAX_ZIP_ENTRIES = 10_000
# Ratios are only judged for entries (or archives) at least this large: tiny XML parts
# legitimately compress very well and cannot hurt anyone.
RATIO_CHECK_MIN_BYTES = 1024 * 1024
# How much of each XML part is scanned for a DTD (it must precede the root element).
_XML_HEAD_BYTES = 4096
_DTD_MARKERS: Tuple[bytes, ...] = tuple(
    marker.encode(codec)
    for marker in ("<!DOCTYPE", "<!doctype", "<!ENTITY", "<!entity")
    for codec in ("utf-8", "utf-16-le", "utf-16-be")
)

# First bytes of formats a misnamed file commonly holds.
_MAGIC: Tuple[Tuple[bytes, str], ...] = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (ZIP_LOCAL_MAGIC, "zip"),
    (ZIP_EMPTY_MAGIC, "zip"),
    (OLE2_MAGIC, "ole2"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!", "rar"),
    (b"RIFF", "riff"),
)

# C0/C1 controls except tab and newline, lone surrogates, and U+FFFE/U+FFFF.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

# OOXML flavour → the folder its main parts live in.
_OOXML_MAIN_PREFIX = {"docx": "word/", "pptx": "ppt/", "xlsx": "xl/"}


def sniff_magic(payload: bytes) -> Optional[str]:
    """The container/image format the first bytes announce, or None."""
    head = payload[:16]
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def scrub_text(text: str) -> str:
    """Drop characters no text column should hold (controls, lone surrogates).

    CRLF, CR, vertical tab (python-pptx's line break) and form feed become LF.
    """
    for separator in ("\r\n", "\r", "\v", "\f"):
        text = text.replace(separator, "\n")
    return _UNPRINTABLE.sub("", text)


def tidy_text(text: str) -> str:
    """``scrub_text``, then runs of spaces collapsed per line and blank lines dropped."""
    lines = (" ".join(line.split()) for line in scrub_text(text).split("\n"))
    return "\n".join(line for line in lines if line)


def looks_textual(payload: bytes) -> bool:
    """True when the first KiB is plausibly text (no NULs, few control bytes)."""
    sample = payload[:1024]
    if not sample or b"\x00" in sample:
        return False
    controls = sum(1 for b in sample if b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D))
    return controls <= 0.02 * len(sample)


def reject_not_container(payload: bytes, label: str) -> ArtifactRejected:
    """The rejection for a payload whose first bytes are not those of format ``label``.

    Another known format, or text, is WRONG_FORMAT (the extension lies); anything
    else is BINARY_GARBAGE.
    """
    error_class = f"Not{label.capitalize()}"
    if sniff_magic(payload) is not None or looks_textual(payload):
        return ArtifactRejected(DeadLetterReason.WRONG_FORMAT, error_class)
    return ArtifactRejected(DeadLetterReason.BINARY_GARBAGE, error_class)


def check_payload_size(payload: bytes, limits: IngestLimits) -> None:
    """EMPTY for zero bytes, OVERSIZED above ``max_file_bytes``."""
    if not payload:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "EmptyPayload")
    if len(payload) > limits.max_file_bytes:
        raise ArtifactRejected(DeadLetterReason.OVERSIZED, "FileTooLarge")


def is_encrypted_ole2(payload: bytes) -> bool:
    """An OLE2 compound file holding an ``EncryptedPackage`` stream (encrypted OOXML)."""
    return payload.startswith(OLE2_MAGIC) and _ENCRYPTED_PACKAGE_UTF16 in payload


def _has_end_of_central_directory(payload: bytes) -> bool:
    # The EOCD record is in the last 22 bytes + up to 64 KiB of archive comment.
    return ZIP_EMPTY_MAGIC in payload[-(22 + 65535):]


def inspect_zip(payload: bytes, limits: IngestLimits) -> zipfile.ZipFile:
    """Open ``payload`` as a zip after checking the central directory against ``limits``.

    Raises TRUNCATED (no end-of-central-directory), CORRUPT (unreadable directory),
    ZIP_BOMB (too large, too compressed, too many entries) or ENCRYPTED.
    """
    if not _has_end_of_central_directory(payload):
        raise ArtifactRejected(DeadLetterReason.TRUNCATED, "ZipNoEndOfCentralDirectory")
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
        infos = archive.infolist()
    except zipfile.BadZipFile:
        raise ArtifactRejected(DeadLetterReason.CORRUPT, "BadZipFile") from None
    except (zlib.error, ValueError, OSError, EOFError, NotImplementedError, RuntimeError, OverflowError) as exc:
        raise ArtifactRejected(DeadLetterReason.CORRUPT, type(exc).__name__) from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ArtifactRejected(DeadLetterReason.ZIP_BOMB, "TooManyEntries")
    total_expanded = 0
    total_compressed = 0
    for info in infos:
        if info.file_size < 0 or info.compress_size < 0:
            raise ArtifactRejected(DeadLetterReason.CORRUPT, "NegativeEntrySize")
        if info.flag_bits & 0x1:
            raise ArtifactRejected(DeadLetterReason.ENCRYPTED, "EncryptedZipEntry")
        if info.file_size > limits.max_expanded_bytes:
            raise ArtifactRejected(DeadLetterReason.ZIP_BOMB, "EntryExpandsTooFar")
        if info.file_size >= RATIO_CHECK_MIN_BYTES and (
            info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)
        ):
            raise ArtifactRejected(DeadLetterReason.ZIP_BOMB, "EntryCompressionRatio")
        total_expanded += info.file_size
        total_compressed += info.compress_size
    if total_expanded > limits.max_expanded_bytes:
        raise ArtifactRejected(DeadLetterReason.ZIP_BOMB, "ArchiveExpandsTooFar")
    if total_expanded >= RATIO_CHECK_MIN_BYTES and (
        total_expanded > limits.max_compression_ratio * max(total_compressed, 1)
    ):
        raise ArtifactRejected(DeadLetterReason.ZIP_BOMB, "ArchiveCompressionRatio")
    return archive


def ooxml_flavour(names) -> Optional[str]:
    """"docx" / "pptx" / "xlsx" from the part names, or None when not OOXML."""
    if "[Content_Types].xml" not in names:
        return None
    for flavour, prefix in _OOXML_MAIN_PREFIX.items():
        if any(name.startswith(prefix) for name in names):
            return flavour
    return None


def _reject_dtds(archive: zipfile.ZipFile) -> None:
    for info in archive.infolist():
        lowered = info.filename.lower()
        if not (lowered.endswith(".xml") or lowered.endswith(".rels") or lowered.endswith(".vml")):
            continue
        try:
            with archive.open(info) as member:
                head = member.read(_XML_HEAD_BYTES)
        except zipfile.BadZipFile:
            raise ArtifactRejected(DeadLetterReason.CORRUPT, "BadZipEntry") from None
        except NotImplementedError:
            raise ArtifactRejected(DeadLetterReason.CORRUPT, "UnsupportedCompression") from None
        except RuntimeError:  # encrypted entries are caught earlier; defensive
            raise ArtifactRejected(DeadLetterReason.ENCRYPTED, "EncryptedZipEntry") from None
        except (zlib.error, ValueError, OSError, EOFError, OverflowError, MemoryError) as exc:
            raise ArtifactRejected(DeadLetterReason.CORRUPT, type(exc).__name__) from None
        if any(marker in head for marker in _DTD_MARKERS):
            raise ArtifactRejected(DeadLetterReason.MALFORMED, "XmlDtdForbidden")


def open_ooxml(payload: bytes, limits: IngestLimits, expected: str) -> zipfile.ZipFile:
    """Every check an OOXML payload must pass before python-docx/pptx/openpyxl see it.

    ``expected`` is "docx", "pptx" or "xlsx". Returns the inspected archive (callers may
    ignore it and hand ``payload`` to their library).
    """
    check_payload_size(payload, limits)
    if payload.startswith(OLE2_MAGIC):
        if is_encrypted_ole2(payload):
            raise ArtifactRejected(DeadLetterReason.ENCRYPTED, "EncryptedOoxml")
        raise ArtifactRejected(DeadLetterReason.WRONG_FORMAT, "LegacyOle2Document")
    if not (payload.startswith(ZIP_LOCAL_MAGIC) or payload.startswith(ZIP_EMPTY_MAGIC)):
        raise reject_not_container(payload, expected)
    archive = inspect_zip(payload, limits)
    flavour = ooxml_flavour(set(archive.namelist()))
    if flavour != expected:
        raise ArtifactRejected(DeadLetterReason.WRONG_FORMAT, f"Not{expected.capitalize()}")
    _reject_dtds(archive)
    return archive


@contextlib.contextmanager
def office_library_errors(label: str) -> Iterator[None]:
    """Map what python-docx / python-pptx / lxml raise on a broken part to reason codes."""
    try:
        yield
    except ArtifactRejected:
        raise
    except RecursionError:
        raise ArtifactRejected(DeadLetterReason.MALFORMED, f"{label}TooDeeplyNested") from None
    except Exception as exc:  # these libraries raise many types for broken parts
        raise ArtifactRejected(DeadLetterReason.CORRUPT, type(exc).__name__) from None
