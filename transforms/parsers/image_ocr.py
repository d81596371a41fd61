"""PNG/JPEG whiteboard snapshots: OCR lines in reading order, one segment per line.

The image is checked with Pillow first (format by magic bytes, pixel count against
``max_image_pixels`` before any decoding, ``verify()``, then a full decode), and only
then handed to RapidOCR (ONNX models shipped inside the ``rapidocr_onnxruntime`` wheel;
nothing is downloaded). The OCR engine is loaded once per process, lazily, behind a
lock; ``OcrEngine`` can also be held explicitly (e.g. in a DoFn's ``setup``).
With ``ocr_enabled: false`` images are UNSUPPORTED_FORMAT. Images carry no author.
"""
from __future__ import annotations

import io
import threading
from statistics import median
from typing import Any, List, Optional, Tuple

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.containers import check_payload_size, reject_not_container, sniff_magic, tidy_text
from transforms.parsers.whiteboard_json import reading_order
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "image_ocr"
ACCEPTED = {"png": "PNG", "jpeg": "JPEG"}
# Detection works on images scaled so the longer side is at most this many pixels.
DET_LIMIT_SIDE = 1280
# Lines whose recognition confidence is below this are dropped.
MIN_TEXT_SCORE = 0.5


class OcrEngine:
    """RapidOCR, loaded on first use and shared; ``__call__`` returns (y, x, text) lines."""

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR(
                    det_limit_type="max",
                    det_limit_side_len=DET_LIMIT_SIDE,
                    text_score=MIN_TEXT_SCORE,
                    intra_op_num_threads=self._threads,
                    inter_op_num_threads=1,
                )
            return self._engine

    def __call__(self, bgr_array) -> List[Tuple[float, float, float, str]]:
        """(top y, left x, box height, text) of each recognized line, unordered."""
        engine = self._load()
        result, _elapsed = engine(bgr_array)
        lines: List[Tuple[float, float, float, str]] = []
        for box, text, score in result or ():
            if float(score) < MIN_TEXT_SCORE:
                continue
            ys = [point[1] for point in box]
            xs = [point[0] for point in box]
            lines.append((float(min(ys)), float(min(xs)), float(max(ys) - min(ys)), str(text)))
        return lines


_DEFAULT_ENGINE: Optional[OcrEngine] = None
_DEFAULT_ENGINE_LOCK = threading.Lock()


def default_engine() -> OcrEngine:
    """The process-wide engine (created on first call, models loaded on first OCR)."""
    global _DEFAULT_ENGINE
    with _DEFAULT_ENGINE_LOCK:
        if _DEFAULT_ENGINE is None:
            _DEFAULT_ENGINE = OcrEngine()
        return _DEFAULT_ENGINE


def _decode_image(payload: bytes, max_pixels: int):
    """The RGB image as a BGR numpy array, or ArtifactRejected."""
    import numpy as np
    from PIL import Image, ImageOps

    magic = sniff_magic(payload)
    if magic not in ACCEPTED:
        raise reject_not_container(payload, "image")
    formats = [ACCEPTED[magic]]
    try:
        with Image.open(io.BytesIO(payload), formats=formats) as probe:
            width, height = probe.size
            if width <= 0 or height <= 0:
                raise ArtifactRejected(DeadLetterReason.CORRUPT, "ImageNoPixels")
            if width * height > max_pixels:
                raise ArtifactRejected(DeadLetterReason.OVERSIZED, "ImageTooManyPixels")
            probe.verify()
        with Image.open(io.BytesIO(payload), formats=formats) as image:
            image.load()
            image = ImageOps.exif_transpose(image) or image
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                rgba = image.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                rgb = Image.alpha_composite(background, rgba).convert("RGB")
            else:
                rgb = image.convert("RGB")
    except ArtifactRejected:
        raise
    except Image.DecompressionBombError:
        raise ArtifactRejected(DeadLetterReason.OVERSIZED, "DecompressionBomb") from None
    except OSError as exc:
        reason = DeadLetterReason.TRUNCATED if "truncated" in str(exc).lower() else DeadLetterReason.CORRUPT
        raise ArtifactRejected(reason, type(exc).__name__) from None
    except Exception as exc:  # Pillow raises SyntaxError, ValueError, struct.error... on bad files
        raise ArtifactRejected(DeadLetterReason.CORRUPT, type(exc).__name__) from None
    return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])


def parse(payload: bytes, context: ParseContext, engine: Optional[OcrEngine] = None) -> ParsedDocument:
    """OCR a PNG/JPEG whiteboard; raises only ``ArtifactRejected``."""
    limits = context.limits
    check_payload_size(payload, limits)
    if not limits.ocr_enabled:
        raise ArtifactRejected(DeadLetterReason.UNSUPPORTED_FORMAT, "OcrDisabled")
    array = _decode_image(payload, limits.max_image_pixels)
    ocr = engine or default_engine()
    try:
        lines = ocr(array)
    except ImportError:
        raise ArtifactRejected(DeadLetterReason.INTERNAL_ERROR, "OcrEngineUnavailable") from None
    except Exception as exc:
        raise ArtifactRejected(DeadLetterReason.INTERNAL_ERROR, f"Ocr{type(exc).__name__}") from None
    items = [(y, x, tidy_text(text)) for y, x, _h, text in lines]
    items = [item for item in items if item[2]]
    if not items:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "OcrNoText")
    tolerance = 0.5 * median(h for _y, _x, h, _t in lines) if lines else 10.0
    ordered = reading_order(items, y=lambda i: i[0], x=lambda i: i[1], tolerance=max(tolerance, 1.0))
    return ParsedDocument(
        source_format=SOURCE_FORMAT,
        segments=tuple(ParsedSegment(text=text) for _, _, text in ordered),
    )
