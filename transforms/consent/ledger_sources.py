"""Reading ledger rows from JSON Lines, CSV, Parquet and SQL (SQLAlchemy URLs).

Every reader yields ``(row_number, raw_row)`` pairs, where ``raw_row`` is a mapping
to hand to :func:`transforms.consent.events.parse_event`, or a
:class:`LedgerErrorRecord` for a row that cannot even be split into fields
(invalid JSON, undecodable bytes). A source that cannot be opened at all raises
:class:`LedgerError` with ``row_number`` 0.

Row numbers are 1-based and mean:

* JSON Lines: the line number (blank lines are skipped but still counted);
* CSV: the spreadsheet row (the header is row 1, the first record row 2);
* Parquet: the record index in the file;
* SQL: the position in ``ORDER BY event_id`` of the selected table.

SQL sources: ``sqlite:///path.db`` (embedded default) or
``postgresql+psycopg://user@host:port/db`` (any SQLAlchemy URL works). The table is
``consent_events`` unless the URL carries ``?table=NAME`` (``schema.name`` allowed);
that parameter is removed before connecting. Only the ledger columns are selected,
so surrogate keys and bookkeeping columns in the table are ignored; ``expires_at``
and ``special_category`` may be absent.
"""
from __future__ import annotations

import csv
import json
import os
import re
from typing import Any, Iterable, Iterator, Mapping, Optional, Tuple, Union

from transforms.consent.events import (
    LEDGER_FIELDS,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    LedgerError,
    LedgerErrorRecord,
)

DEFAULT_TABLE = "consent_events"
SQL_DIALECTS = frozenset({"sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle", "duckdb"})
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zst", ".deflate", ".lzma")
SQL_BATCH_ROWS = 10_000
PARQUET_BATCH_ROWS = 10_000
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")

RawRow = Union[Mapping[str, Any], LedgerErrorRecord]


def is_sql_url(uri: str) -> bool:
    """True for SQLAlchemy URLs (``dialect[+driver]://...``), False for file paths/globs."""
    scheme, sep, _ = uri.partition("://")
    if not sep and uri.startswith("sqlite:"):
        return True
    return bool(sep) and scheme.split("+", 1)[0].lower() in SQL_DIALECTS


def file_format(path: str) -> Optional[str]:
    """``jsonl``, ``csv`` or ``parquet`` from the file name (compression suffix ignored)."""
    name = path.lower()
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def _lines(handle) -> Iterator[bytes]:
    while True:
        line = handle.readline()
        if not line:
            return
        yield line


def iter_jsonl_rows(handle, source: str) -> Iterator[Tuple[int, RawRow]]:
    """Rows of a JSON Lines ledger read from a binary file handle, streaming."""
    for line_number, raw_line in enumerate(_lines(handle), start=1):
        if line_number == 1 and raw_line.startswith(b"\xef\xbb\xbf"):
            raw_line = raw_line[3:]
        if not raw_line.strip():
            continue
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError:
            yield line_number, LedgerErrorRecord(source, line_number, "undecodable")
            continue
        try:
            row = json.loads(text)
        except ValueError:
            yield line_number, LedgerErrorRecord(source, line_number, "invalid_json")
            continue
        if not isinstance(row, dict):
            yield line_number, LedgerErrorRecord(source, line_number, "not_an_object")
            continue
        yield line_number, row


class _DecodedLines:
    """Iterates decoded lines for ``csv.reader``; remembers the last undecodable line."""

    def __init__(self, handle):
        self._lines = _lines(handle)
        self.undecodable = False
        self._first = True

    def __iter__(self):
        return self

    def __next__(self) -> str:
        raw = next(self._lines)
        if self._first:
            self._first = False
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.undecodable = True
            return "\n"


def _check_columns(names, source: str, row_number: int) -> None:
    """Columns of a tabular ledger: no unknown column (a typo must not widen consent), none missing."""
    if any(name not in LEDGER_FIELDS for name in names):
        raise LedgerError(source, row_number, "unknown_column")
    missing = [name for name in REQUIRED_FIELDS if name not in names]
    if missing:
        raise LedgerError(source, row_number, f"missing_column:{missing[0]}")


def iter_csv_rows(handle, source: str) -> Iterator[Tuple[int, RawRow]]:
    """Rows of a CSV ledger with a header row; ``artifact_kinds`` as ``a;b``, ``a|b`` or a JSON list."""
    lines = _DecodedLines(handle)
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error:
        raise LedgerError(source, 1, "invalid_csv_header") from None
    if lines.undecodable:
        raise LedgerError(source, 1, "undecodable")
    header = [name.strip() for name in header]
    if len(set(header)) != len(header):
        raise LedgerError(source, 1, "duplicate_column")
    _check_columns(header, source, 1)
    row_number = 1
    while True:
        row_number += 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield row_number, LedgerErrorRecord(source, row_number, "invalid_csv")
            return                                       # the reader cannot resynchronise
        if lines.undecodable:
            lines.undecodable = False
            yield row_number, LedgerErrorRecord(source, row_number, "undecodable")
            continue
        if not values or all(not value.strip() for value in values):
            continue
        if len(values) != len(header):
            yield row_number, LedgerErrorRecord(source, row_number, "wrong_column_count")
            continue
        yield row_number, {name: (value if value.strip() else None) for name, value in zip(header, values)}


def iter_parquet_rows(handle, source: str) -> Iterator[Tuple[int, RawRow]]:
    """Rows of a Parquet ledger, read batch by batch (never the whole file at once)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(handle)
    except (pa.ArrowException, OSError, ValueError):
        raise LedgerError(source, 0, "unreadable_parquet") from None
    names = parquet.schema_arrow.names
    _check_columns(names, source, 0)
    row_number = 0
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            for row in batch.to_pylist():
                row_number += 1
                yield row_number, row
    except (pa.ArrowException, OSError) as exc:
        raise LedgerError(source, row_number + 1, f"unreadable_parquet:{type(exc).__name__}") from None


def iter_file_rows(handle, path: str) -> Iterator[Tuple[int, RawRow]]:
    fmt = file_format(path)
    if fmt == "jsonl":
        return iter_jsonl_rows(handle, path)
    if fmt == "csv":
        return iter_csv_rows(handle, path)
    if fmt == "parquet":
        return iter_parquet_rows(handle, path)
    raise LedgerError(path, 0, "unsupported_format")


def split_sql_url(uri: str):
    """``(sqlalchemy URL without ?table, table name, safe source label)``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(uri)
    except (ArgumentError, ValueError):
        raise LedgerError("sql", 0, "invalid_sql_url") from None
    table = url.query.get("table", DEFAULT_TABLE)
    if isinstance(table, tuple):
        table = table[-1]
    url = url.difference_update_query(["table"])
    label = f"{url.render_as_string(hide_password=True)}#{table}"
    if not _TABLE_NAME.match(table):
        raise LedgerError(label, 0, "invalid_table_name")
    return url, table, label


def sql_source_label(uri: str) -> str:
    try:
        return split_sql_url(uri)[2]
    except LedgerError as exc:
        return exc.source


def _sql_table(engine, table_name: str, label: str):
    import sqlalchemy as sa

    schema, _, name = table_name.rpartition(".")
    try:
        columns = {col["name"] for col in sa.inspect(engine).get_columns(name, schema=schema or None)}
    except sa.exc.NoSuchTableError:
        raise LedgerError(label, 0, "missing_table") from None
    if not columns:
        raise LedgerError(label, 0, "missing_table")
    missing = [field for field in REQUIRED_FIELDS if field not in columns]
    if missing:
        raise LedgerError(label, 0, f"missing_column:{missing[0]}")
    selected = [field for field in LEDGER_FIELDS if field in columns]
    table = sa.table(name, *[sa.column(field) for field in selected], schema=schema or None)
    return table, selected


def iter_sql_rows(uri: str, batch_rows: int = SQL_BATCH_ROWS) -> Iterator[Tuple[int, RawRow]]:
    """Rows of a SQL ledger table, streamed with a server-side cursor (``yield_per``)."""
    import sqlalchemy as sa

    engine, table_name, label = _sql_engine(uri)
    row_number = 0
    try:
        table, selected = _sql_table(engine, table_name, label)
        query = sa.select(*[table.c[name] for name in selected]).order_by(table.c.event_id)
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=batch_rows).execute(query)
            for row in result:
                row_number += 1
                mapping = dict(row._mapping)
                for optional in OPTIONAL_FIELDS:
                    mapping.setdefault(optional, None)
                yield row_number, mapping
    except sa.exc.SQLAlchemyError as exc:
        raise LedgerError(label, row_number + 1 if row_number else 0, f"sql_error:{type(exc).__name__}") from None
    finally:
        engine.dispose()


def _sql_engine(uri: str):
    """(engine, table name, label) for a SQL ledger URL, or LedgerError; the caller disposes it."""
    import sqlalchemy as sa

    url, table_name, label = split_sql_url(uri)
    _require_sqlite_file(url, label)
    try:
        return sa.create_engine(url), table_name, label
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError):
        raise LedgerError(label, 0, "invalid_sql_url") from None


def _require_sqlite_file(url, label: str) -> None:
    """SQLite creates missing databases on connect; a missing ledger must fail instead."""
    if url.get_backend_name() != "sqlite":
        return
    database = url.database or ""
    if not database or database == ":memory:" or not os.path.isfile(database):
        raise LedgerError(label, 0, "missing_ledger")


def check_sql_reachable(uri: str) -> None:
    """Connect and find the ledger table and its required columns, or raise LedgerError."""
    import sqlalchemy as sa

    engine, table_name, label = _sql_engine(uri)
    try:
        _sql_table(engine, table_name, label)
    except sa.exc.SQLAlchemyError as exc:
        raise LedgerError(label, 0, f"ledger_unreachable:{type(exc).__name__}") from None
    finally:
        engine.dispose()


def rows_from_iterable(rows: Iterable[Mapping[str, Any]]) -> Iterator[Tuple[int, RawRow]]:
    """Number in-memory rows (tests and tools)."""
    for index, row in enumerate(rows, start=1):
        yield index, row
