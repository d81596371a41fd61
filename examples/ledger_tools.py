"""Consent ledger tools: check a ledger, or convert it between formats.

    python -m examples.ledger_tools check LEDGER
    python -m examples.ledger_tools convert SOURCE TARGET

LEDGER / SOURCE: a .jsonl, .csv or .parquet file, a glob of them, or a SQLAlchemy URL
(``sqlite:///ledger.db``, ``postgresql+psycopg://user@host/db``, ``?table=NAME`` optional).
TARGET: a .jsonl, .csv or .parquet path, or a SQLAlchemy URL (the table is replaced).

``check`` applies exactly the pipeline's validation (rows, contradictions) and prints
either the event count or one error line naming the source and row, never content;
it exits 2 on an invalid or unreachable ledger, like ``gatekeeper run``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transforms.consent.events import LedgerError  # noqa: E402
from transforms.consent.ledger import check_ledger_reachable, load_ledger_events  # noqa: E402
from transforms.consent.ledger_writers import write_ledger  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a ledger")
    check.add_argument("ledger")
    convert = commands.add_parser("convert", help="copy a ledger into another format")
    convert.add_argument("source")
    convert.add_argument("target")
    args = parser.parse_args(argv)
    source = args.ledger if args.command == "check" else args.source
    try:
        check_ledger_reachable(source)
        events = load_ledger_events(source)
    except LedgerError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.command == "check":
        print(f"ok: {len(events)} consent events")
        return 0
    events.sort(key=lambda e: e.event_id)
    try:
        written = write_ledger(events, args.target)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {written} consent events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
