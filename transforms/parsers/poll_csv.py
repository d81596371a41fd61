"""Zoom poll report CSV.

Wide layout (the classic "Poll Report"): a report header block (``Poll Report``,
``Report Generated:``, ``Topic,ID,Actual Start Time,...`` + values, blank lines), then
``#,User Name,User Email,Submitted Date/Time,<question 1>,<question 2>...`` and one row
per respondent → one segment per (respondent, answered question), text
``"<question>: <answer>"``. Several poll sections may follow each other.
Long layout: a header with ``Question`` and ``Answer`` columns → one segment per row.
The author is matched by e-mail first, then by name.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Dict, List, Optional

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.encoding import decode_text
from transforms.parsers.roster import Roster
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "zoom_poll_csv"

_NAME_COLUMNS = ("user name", "name", "participant", "participant name", "username", "display name")
_EMAIL_COLUMNS = ("user email", "email", "email address", "user email address")
_METADATA_COLUMNS = frozenset(_NAME_COLUMNS + _EMAIL_COLUMNS + (
    "#", "no.", "submitted date/time", "submitted date", "submitted time", "date/time", "date",
    "time", "poll name", "poll", "poll title", "title", "poll id", "polling id", "id",
    "country/region name", "country/region", "registration id", "user id",
))


@dataclass(frozen=True)
class _Header:
    columns: List[str]            # normalized
    raw: List[str]
    name_at: Optional[int]
    email_at: Optional[int]
    question_at: Optional[int]    # long layout
    answer_at: Optional[int]

    @property
    def long_layout(self) -> bool:
        return self.question_at is not None and self.answer_at is not None


def _norm(cell: str) -> str:
    return " ".join(cell.strip().lower().split())


def _index(columns: List[str], names) -> Optional[int]:
    for name in names:
        if name in columns:
            return columns.index(name)
    return None


def _as_header(row: List[str]) -> Optional[_Header]:
    columns = [_norm(c) for c in row]
    name_at, email_at = _index(columns, _NAME_COLUMNS), _index(columns, _EMAIL_COLUMNS)
    question_at, answer_at = _index(columns, ("question",)), _index(columns, ("answer", "answers"))
    is_wide = name_at is not None and email_at is not None
    is_long = question_at is not None and answer_at is not None
    if not (is_wide or is_long):
        return None
    return _Header(columns, [c.strip() for c in row], name_at, email_at, question_at, answer_at)


def _cell(row: List[str], at: Optional[int]) -> str:
    return row[at].strip() if at is not None and at < len(row) else ""


def _rows(text: str) -> List[List[str]]:
    try:
        return list(csv.reader(io.StringIO(text)))
    except csv.Error:
        raise ArtifactRejected(DeadLetterReason.MALFORMED, "CsvError") from None


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    decoded = decode_text(payload)
    roster = Roster(context.roster)
    header: Optional[_Header] = None
    saw_header = False
    segments: List[ParsedSegment] = []
    author_cache: Dict[tuple, Optional[str]] = {}

    def author(name: str, email: str) -> Optional[str]:
        key = (name, email)
        if key not in author_cache:
            author_cache[key] = (roster.match_email(email) if email else None) or roster.match(name)
        return author_cache[key]

    for row in _rows(decoded.normalized.lstrip("\ufeff")):
        if not any(cell.strip() for cell in row):
            continue
        candidate = _as_header(row)
        if candidate is not None:
            header, saw_header = candidate, True
            continue
        if header is None:
            continue                                      # report header block
        name, email = _cell(row, header.name_at), _cell(row, header.email_at)
        label = name or email or None
        if header.long_layout:
            pairs = [(_cell(row, header.question_at), _cell(row, header.answer_at))]
        else:
            pairs = [
                (header.raw[i], _cell(row, i))
                for i, column in enumerate(header.columns)
                if column and column not in _METADATA_COLUMNS
            ]
        for question, answer in pairs:
            if question and answer:
                segments.append(ParsedSegment(f"{question}: {answer}", label, author(name, email)))
    if not saw_header:
        raise ArtifactRejected(DeadLetterReason.MALFORMED, "NoPollHeader")
    if not segments:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "NoPollAnswers")
    return ParsedDocument(SOURCE_FORMAT, tuple(segments), decoded.encoding, decoded.fallback)
