"""Excel (.xlsx) uploads: one segment per non-empty row, per worksheet, in sheet order.

A row becomes ``"cell | cell | ..."`` from its non-empty cells (cached values: formulas
are not evaluated, ``data_only=True``). Chart sheets are skipped. openpyxl reads in
streaming mode (``read_only=True``) after ``containers.open_ooxml`` checked the zip.
"""
from __future__ import annotations

import datetime as dt
import io
import warnings
from typing import Any, List, Optional

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.containers import open_ooxml, tidy_text
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "xlsx"
CELL_SEPARATOR = " | "
# openpyxl warns about unsupported extensions / missing styles; the messages carry no content
# but are noise in worker logs.
warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl(\..*)?$")


def _cell_text(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    text = tidy_text(str(value)).replace("\n", " ")
    return text or None


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    """Parse an .xlsx; raises only ``ArtifactRejected``."""
    open_ooxml(payload, context.limits, "xlsx")
    segments: List[ParsedSegment] = []
    workbook = None
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(payload), read_only=True, data_only=True, keep_links=False)
        for sheet in workbook.worksheets:
            if not hasattr(sheet, "iter_rows"):
                continue
            # Ignore the declared dimension: a hostile "A1:XFD1048576" would pad every row.
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()
            for row in sheet.iter_rows(values_only=True):
                cells = [text for text in (_cell_text(value) for value in row) if text]
                if cells:
                    segments.append(ParsedSegment(text=CELL_SEPARATOR.join(cells)))
    except ArtifactRejected:
        raise
    except RecursionError:
        raise ArtifactRejected(DeadLetterReason.MALFORMED, "XlsxTooDeeplyNested") from None
    except Exception as exc:  # openpyxl raises many types for broken parts
        raise ArtifactRejected(DeadLetterReason.CORRUPT, type(exc).__name__) from None
    finally:
        if workbook is not None:
            try:
                workbook.close()
            except Exception:
                pass
    if not segments:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "XlsxNoText")
    return ParsedDocument(source_format=SOURCE_FORMAT, segments=tuple(segments))
