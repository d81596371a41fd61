"""Writing ledgers in every supported source format (tools, fixtures, benchmarks).

The formats are the ones ``ledger_sources`` reads:

* JSON Lines: one ``ConsentEvent.to_row()`` object per line;
* CSV: header row, ``artifact_kinds`` joined with ``;``, ISO 8601 timestamps;
* Parquet: ``artifact_kinds`` as ``list<string>``, timestamps as ``timestamp[us, UTC]``;
* SQL: table ``consent_events`` (or ``table``); timestamps are ``TIMESTAMP WITH TIME
  ZONE`` where the database has one (PostgreSQL) and ISO 8601 text elsewhere (SQLite
  has no zone-aware type), ``artifact_kinds`` is a JSON list in a text column.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterable

from transforms.consent.events import LEDGER_FIELDS, ConsentEvent
from transforms.consent.ledger_sources import DEFAULT_TABLE


def write_jsonl(events: Iterable[ConsentEvent], path: str) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event.to_row(), sort_keys=True) + "\n")
            count += 1
    return count


def write_csv(events: Iterable[ConsentEvent], path: str) -> int:
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(LEDGER_FIELDS))
        writer.writeheader()
        for event in events:
            row = event.to_row()
            row["artifact_kinds"] = ";".join(event.artifact_kinds)
            row["special_category"] = "true" if event.special_category else "false"
            writer.writerow(row)
            count += 1
    return count


def write_parquet(events: Iterable[ConsentEvent], path: str) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    timestamp = pa.timestamp("us", tz="UTC")
    schema = pa.schema([
        ("event_id", pa.string()),
        ("subject_type", pa.string()),
        ("subject_id", pa.string()),
        ("purpose", pa.string()),
        ("artifact_kinds", pa.list_(pa.string())),
        ("status", pa.string()),
        ("effective_at", timestamp),
        ("expires_at", timestamp),
        ("special_category", pa.bool_()),
    ])
    rows = [{
        "event_id": e.event_id,
        "subject_type": e.subject_type.value,
        "subject_id": e.subject_id,
        "purpose": e.purpose,
        "artifact_kinds": list(e.artifact_kinds),
        "status": e.status.value,
        "effective_at": e.effective_at,
        "expires_at": e.expires_at,
        "special_category": e.special_category,
    } for e in events]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return len(rows)


def write_sql(events: Iterable[ConsentEvent], url: str, table: str = DEFAULT_TABLE, replace: bool = True) -> int:
    """Create ``table`` and insert the events; returns the number of rows written."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    zone_aware = engine.dialect.name == "postgresql"
    stamp = sa.DateTime(timezone=True) if zone_aware else sa.Text()
    metadata = sa.MetaData()
    ledger = sa.Table(
        table, metadata,
        sa.Column("event_id", sa.Text(), primary_key=True),
        sa.Column("subject_type", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("artifact_kinds", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("effective_at", stamp, nullable=False),
        sa.Column("expires_at", stamp, nullable=True),
        sa.Column("special_category", sa.Boolean(), nullable=False, default=False),
    )

    def value(moment):
        if moment is None:
            return None
        return moment if zone_aware else moment.isoformat()

    rows = [{
        "event_id": e.event_id,
        "subject_type": e.subject_type.value,
        "subject_id": e.subject_id,
        "purpose": e.purpose,
        "artifact_kinds": json.dumps(list(e.artifact_kinds)),
        "status": e.status.value,
        "effective_at": value(e.effective_at),
        "expires_at": value(e.expires_at),
        "special_category": e.special_category,
    } for e in events]
    try:
        with engine.begin() as connection:
            if replace:
                ledger.drop(connection, checkfirst=True)
            ledger.create(connection, checkfirst=True)
            if rows:
                connection.execute(ledger.insert(), rows)
    finally:
        engine.dispose()
    return len(rows)


def write_ledger(events: Iterable[ConsentEvent], target: str) -> int:
    """Write to a path (format from the extension) or a SQLAlchemy URL."""
    from transforms.consent.ledger_sources import file_format, is_sql_url, split_sql_url

    events = list(events)
    if is_sql_url(target):
        url, table, _ = split_sql_url(target)
        return write_sql(events, url.render_as_string(hide_password=False), table)
    fmt = file_format(target)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        return write_jsonl(events, target)
    if fmt == "csv":
        return write_csv(events, target)
    if fmt == "parquet":
        return write_parquet(events, target)
    raise ValueError("unsupported ledger target: use .jsonl, .csv, .parquet or a SQLAlchemy URL")
