"""Image whiteboards: Pillow checks before OCR, real RapidOCR on tiny images, totality."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from examples.builders import build_large_image_header_png, build_pdf, build_whiteboard_png
from pipeline.config import IngestLimits
from transforms.parsers import image_ocr
from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument
from transforms.records import DeadLetterReason as R

CONTEXT = ParseContext(kind="whiteboard", filename="board.png")
PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LINES = ["Quarterly roadmap review", "Ship the parser by Friday", "Budget is 42 units"]


def _squash(text: str) -> str:
    """OCR drops or doubles spaces; compare the characters only."""
    return "".join(text.split()).casefold()


def _reason(payload: bytes, context: ParseContext = CONTEXT) -> R:
    with pytest.raises(ArtifactRejected) as info:
        image_ocr.parse(payload, context)
    return info.value.reason


@pytest.fixture(scope="module")
def whiteboard_png() -> bytes:
    return build_whiteboard_png(LINES)


def test_ocr_reads_lines_in_order(whiteboard_png):
    doc = image_ocr.parse(whiteboard_png, CONTEXT)
    assert doc.source_format == "image_ocr"
    assert [_squash(s.text) for s in doc.segments] == [_squash(line) for line in LINES]
    assert all(s.speaker_label is None and s.participant_id is None for s in doc.segments)


def test_jpeg_with_transparent_free_two_column_layout():
    font = ImageFont.load_default(size=32)
    image = Image.new("RGB", (900, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.text((520, 28), "RIGHT", fill="black", font=font)      # same row, a little higher
    draw.text((40, 36), "LEFT", fill="black", font=font)
    draw.text((40, 130), "BELOW", fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95)
    doc = image_ocr.parse(out.getvalue(), ParseContext(kind="whiteboard", filename="b.jpg"))
    assert [_squash(s.text) for s in doc.segments] == ["left", "right", "below"]


def test_transparent_png_text_is_read_on_white():
    font = ImageFont.load_default(size=32)
    image = Image.new("RGBA", (420, 90), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((20, 20), "TRANSPARENT", fill=(0, 0, 0, 255), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    assert [_squash(s.text) for s in image_ocr.parse(out.getvalue(), CONTEXT).segments] == ["transparent"]


def test_blank_and_degenerate_images_are_empty():
    for size in [(64, 64), (1, 1), (300, 2)]:
        out = io.BytesIO()
        Image.new("L", size, 255).save(out, format="PNG")
        assert _reason(out.getvalue()) is R.EMPTY


def test_ocr_disabled_is_unsupported(whiteboard_png):
    disabled = ParseContext(kind="whiteboard", filename="b.png", limits=IngestLimits(ocr_enabled=False))
    assert _reason(whiteboard_png, disabled) is R.UNSUPPORTED_FORMAT


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pixel_limits(whiteboard_png):
    assert _reason(build_large_image_header_png(10_000, 10_000)) is R.OVERSIZED      # header says 100 MP
    assert _reason(build_large_image_header_png(20_000, 20_000)) is R.OVERSIZED      # Pillow's own bomb error
    width, height = Image.open(io.BytesIO(whiteboard_png)).size
    tight = ParseContext(kind="whiteboard", filename="b.png", limits=IngestLimits(max_image_pixels=width * height - 1))
    assert _reason(whiteboard_png, tight) is R.OVERSIZED
    small_file = ParseContext(kind="whiteboard", filename="b.png", limits=IngestLimits(max_file_bytes=100))
    assert _reason(whiteboard_png, small_file) is R.OVERSIZED


def test_truncated_corrupt_and_foreign_payloads(whiteboard_png):
    assert _reason(whiteboard_png[: len(whiteboard_png) // 2]) in (R.TRUNCATED, R.CORRUPT)
    ihdr_crc_at = 8 + 8 + 13
    broken_crc = whiteboard_png[:ihdr_crc_at] + b"\x00\x00\x00\x00" + whiteboard_png[ihdr_crc_at + 4:]
    assert _reason(broken_crc) is R.CORRUPT
    assert _reason(build_pdf(["x"])) is R.WRONG_FORMAT
    assert _reason(b"GIF89a" + b"\x00" * 20) is R.WRONG_FORMAT
    assert _reason(b"just text, not an image") is R.WRONG_FORMAT
    assert _reason(b"\x01\x02\x03" * 30) is R.BINARY_GARBAGE
    assert _reason(b"") is R.EMPTY


def test_engine_is_loaded_once_per_process():
    first = image_ocr.default_engine()
    assert image_ocr.default_engine() is first
    assert first._load() is first._load()


def test_ocr_models_ship_with_the_package():
    import pathlib

    import rapidocr_onnxruntime

    models = pathlib.Path(rapidocr_onnxruntime.__file__).parent / "models"
    assert {p.name for p in models.glob("*.onnx")} >= {
        "ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    }


def _check_total(payload: bytes) -> None:
    try:
        result = image_ocr.parse(payload, CONTEXT)
    except ArtifactRejected as exc:
        assert isinstance(exc.reason, R)
        return
    assert isinstance(result, ParsedDocument) and result.segments


@PROPERTY
@given(st.binary(max_size=512))
def test_arbitrary_bytes_only_raise_artifact_rejected(payload):
    _check_total(payload)


def _png(width: int, height: int, pixels: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + pixels[row * width:(row + 1) * width].ljust(width, b"\xff") for row in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@PROPERTY
@given(st.integers(1, 48), st.integers(1, 48), st.binary(max_size=48 * 48))
def test_arbitrary_small_valid_images(width, height, pixels):
    _check_total(_png(width, height, pixels))


_SMALL_VALID = build_whiteboard_png(["Hi"], font_size=20)


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, len(_SMALL_VALID) - 1), st.integers(0, 255)), max_size=6),
       st.integers(1, len(_SMALL_VALID)))
def test_mutated_and_truncated_png(flips, keep):
    mutated = bytearray(_SMALL_VALID)
    for position, value in flips:
        mutated[position] = value
    _check_total(bytes(mutated[:keep]))
