"""Reading the consent ledger: a Beam PTransform for the pipeline, plain helpers for tools.

``ReadConsentLedger(uri)`` accepts a JSON Lines / CSV / Parquet file, a glob of such
files (any Beam filesystem), or a SQLAlchemy URL (see ``ledger_sources``). Its output
is a dict with ``events`` (validated, de-duplicated :class:`ConsentEvent`) and
``errors`` (:class:`LedgerErrorRecord`). Any error means the ledger cannot be trusted:
the caller fails the run closed.

Contradictions across rows: the same ``event_id`` twice with an identical payload is
one event (re-exports are idempotent); with a different payload it is an error
(``duplicate_event_id_conflict``) reported at every row after the first occurrence
(ordered by source, then row), and none of the conflicting rows is used.
"""
from __future__ import annotations

from typing import Dict, Iterable, Iterator, List, Tuple, Union

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import BeamIOError
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.consent.coders import ConsentEventCoder  # noqa: F401  (registers the coder)
from transforms.consent.events import ConsentEvent, LedgerError, LedgerErrorRecord, parse_event
from transforms.consent.ledger_sources import (
    RawRow,
    check_sql_reachable,
    file_format,
    is_sql_url,
    iter_file_rows,
    iter_sql_rows,
    sql_source_label,
)

EVENTS = "events"
ERRORS = "errors"
MAX_ERRORS_PER_SOURCE = 100
DUPLICATE_CONFLICT = "duplicate_event_id_conflict"

Origin = Tuple[str, int]                 # (source, row_number)
KeyedEvent = Tuple[str, Tuple[Origin, ConsentEvent]]     # keyed by event_id, for the duplicate check
ParsedRow = Tuple[str, int, Union[ConsentEvent, LedgerErrorRecord]]


def parse_rows(rows: Iterable[Tuple[int, RawRow]], source: str) -> Iterator[ParsedRow]:
    """Validate numbered raw rows; stops after ``MAX_ERRORS_PER_SOURCE`` errors.

    A ``LedgerError`` raised by the row iterator itself (unreadable source) is
    yielded as an error record, so one bad file never aborts the others.
    """
    errors = 0
    try:
        for row_number, raw in rows:
            if isinstance(raw, LedgerErrorRecord):
                item: Union[ConsentEvent, LedgerErrorRecord] = raw
            else:
                try:
                    item = parse_event(raw, row_number, source)
                except LedgerError as exc:
                    item = exc.record
            if isinstance(item, LedgerErrorRecord):
                errors += 1
                if errors > MAX_ERRORS_PER_SOURCE:
                    yield source, row_number, LedgerErrorRecord(source, row_number, "too_many_errors")
                    return
            yield source, row_number, item
    except LedgerError as exc:
        yield source, exc.row_number, exc.record
    except OSError as exc:
        yield source, 0, LedgerErrorRecord(source, 0, f"unreadable:{type(exc).__name__}")


def _emit(parsed: Iterable[ParsedRow], counter_events, counter_errors):
    for source, row_number, item in parsed:
        if isinstance(item, LedgerErrorRecord):
            counter_errors.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, item)
        else:
            counter_events.inc()
            yield item.event_id, ((source, row_number), item)


class _MatchLedgerFiles(beam.DoFn):
    """File pattern -> FileMetadata; an empty match is a ``missing_ledger`` error."""

    def process(self, pattern: str):
        try:
            matches = FileSystems.match([pattern])[0].metadata_list
        except (BeamIOError, OSError):
            matches = []
        files = [m for m in matches if not m.path.endswith("/")]
        if not files:
            yield beam.pvalue.TaggedOutput(ERRORS, LedgerErrorRecord(pattern, 0, "missing_ledger"))
            return
        for metadata in sorted(files, key=lambda m: m.path):
            yield metadata


class _ReadLedgerFile(beam.DoFn):
    """One ledger file, streamed row by row (row numbers need the whole file's context)."""

    def __init__(self):
        self._events = Metrics.counter("consent", "events_read")
        self._errors = Metrics.counter("consent", "ledger_errors")

    def process(self, readable: fileio.ReadableFile):
        path = readable.metadata.path
        if file_format(path) is None:
            self._errors.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, LedgerErrorRecord(path, 0, "unsupported_format"))
            return
        try:
            handle = readable.open()
        except (BeamIOError, OSError) as exc:
            self._errors.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, LedgerErrorRecord(path, 0, f"unreadable:{type(exc).__name__}"))
            return
        with handle:
            yield from _emit(parse_rows(_lazy(lambda: iter_file_rows(handle, path)), path), self._events, self._errors)


class _ReadSqlLedger(beam.DoFn):
    """A SQL ledger table, streamed through a server-side cursor."""

    def __init__(self):
        self._events = Metrics.counter("consent", "events_read")
        self._errors = Metrics.counter("consent", "ledger_errors")

    def process(self, uri: str):
        source = sql_source_label(uri)
        yield from _emit(parse_rows(_lazy(lambda: iter_sql_rows(uri)), source), self._events, self._errors)


def _lazy(make_rows):
    """Defer creating a row iterator so that errors it raises surface inside ``parse_rows``."""
    yield from make_rows()


class _CheckDuplicateIds(beam.DoFn):
    def __init__(self):
        self._errors = Metrics.counter("consent", "ledger_errors")

    def process(self, keyed):
        _, occurrences = keyed
        occurrences = sorted(occurrences, key=lambda item: item[0])
        first_origin, first = occurrences[0]
        conflicts = [origin for origin, event in occurrences[1:] if event != first]
        if not conflicts:
            yield first
            return
        for source, row_number in conflicts:
            self._errors.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, LedgerErrorRecord(source, row_number, DUPLICATE_CONFLICT))


class ReadConsentLedger(beam.PTransform):
    """PBegin -> {'events': PCollection[ConsentEvent], 'errors': PCollection[LedgerErrorRecord]}."""

    def __init__(self, uri: str):
        super().__init__()
        self._uri = uri

    def expand(self, pbegin) -> Dict[str, beam.PCollection]:
        if is_sql_url(self._uri):
            read = (
                pbegin
                | "LedgerUrl" >> beam.Create([self._uri])
                | "ReadSql" >> beam.ParDo(_ReadSqlLedger()).with_output_types(KeyedEvent)
                .with_outputs(ERRORS, main=EVENTS)
            )
            source_errors = [read[ERRORS]]
        else:
            matched = (
                pbegin
                | "LedgerPattern" >> beam.Create([self._uri])
                | "Match" >> beam.ParDo(_MatchLedgerFiles()).with_outputs(ERRORS, main="files")
            )
            read = (
                matched.files
                | "SpreadFiles" >> beam.Reshuffle()
                | "ReadMatches" >> fileio.ReadMatches()
                | "ReadFiles" >> beam.ParDo(_ReadLedgerFile()).with_output_types(KeyedEvent)
                .with_outputs(ERRORS, main=EVENTS)
            )
            source_errors = [matched[ERRORS], read[ERRORS]]
        checked = (
            read[EVENTS]
            | "GroupByEventId" >> beam.GroupByKey()
            | "CheckDuplicateIds" >> beam.ParDo(_CheckDuplicateIds()).with_output_types(ConsentEvent)
            .with_outputs(ERRORS, main=EVENTS)
        )
        errors = (source_errors + [checked[ERRORS]]) | "AllLedgerErrors" >> beam.Flatten()
        return {EVENTS: checked[EVENTS], ERRORS: errors}


def check_ledger_reachable(uri: str) -> None:
    """Driver-side pre-check: the files exist (with a known format) or the table is reachable.

    Raises :class:`LedgerError`; the CLI turns it into exit 2 before the pipeline starts.
    """
    if not uri or not uri.strip():
        raise LedgerError("ledger", 0, "missing_ledger")
    if is_sql_url(uri):
        check_sql_reachable(uri)
        return
    try:
        matches = FileSystems.match([uri])[0].metadata_list
    except (BeamIOError, OSError):
        matches = []
    files = [m for m in matches if not m.path.endswith("/")]
    if not files:
        raise LedgerError(uri, 0, "missing_ledger")
    for metadata in files:
        if file_format(metadata.path) is None:
            raise LedgerError(metadata.path, 0, "unsupported_format")


def _source_rows(uri: str) -> Iterator[ParsedRow]:
    if is_sql_url(uri):
        yield from parse_rows(_lazy(lambda: iter_sql_rows(uri)), sql_source_label(uri))
        return
    check_ledger_reachable(uri)
    for metadata in sorted(FileSystems.match([uri])[0].metadata_list, key=lambda m: m.path):
        path = metadata.path
        with FileSystems.open(path) as handle:
            yield from parse_rows(_lazy(lambda: iter_file_rows(handle, path)), path)


def load_ledger_events(uri: str) -> List[ConsentEvent]:
    """The whole ledger in memory, for tests and tools (the pipeline uses ReadConsentLedger).

    Raises the first :class:`LedgerError`, with the same rules as the pipeline.
    """
    seen: Dict[str, Tuple[Origin, ConsentEvent]] = {}
    for source, row_number, item in _source_rows(uri):
        if isinstance(item, LedgerErrorRecord):
            raise LedgerError(item.source, item.row_number, item.problem)
        previous = seen.get(item.event_id)
        if previous is None:
            seen[item.event_id] = ((source, row_number), item)
        elif previous[1] != item:
            raise LedgerError(source, row_number, DUPLICATE_CONFLICT)
    return [event for _, event in seen.values()]


def ledger_error_line(errors: Iterable[LedgerErrorRecord]) -> str:
    """The one line the CLI prints for a failed ledger: the first error (by source, row) and a count."""
    ordered = sorted(errors, key=lambda e: (e.source, e.row_number, e.problem))
    if not ordered:
        return ""
    more = len(ordered) - 1
    return ordered[0].message() + (f" (and {more} more ledger error{'s' if more != 1 else ''})" if more else "")
