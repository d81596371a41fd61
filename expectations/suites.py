"""Version-controlled expectation suites: loading and checking the suite files.

A suite file (``expectations/suites/<dataset>.json``) holds::

    {"dataset": "transcript", "extends": ["_segment_base"], "id_column": "segment_id",
     "expectations": [{"id": "...", "type": "expect_...", "kwargs": {...},
                       "severity": "critical" | "warning", "notes": "..."}]}

``type`` is either a Great Expectations 1.x expectation type (``expect_*``), run
per batch by GE, or a gatekeeper check (``gatekeeper_*``) that needs more than
one batch (uniqueness across batches, ordering within an artifact), the Parquet
file schema, or the run manifest (conservation, drift). Files whose name starts
with ``_`` are bases that dataset suites extend; ``run.json`` holds the run-level
checks.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from expectations.model import SEVERITIES

PACKAGED_SUITES_DIR = Path(__file__).with_name("suites")
RUN_SUITE = "run"

# gatekeeper checks, by the scope where they are evaluated
GATEKEEPER_CROSS_BATCH_TYPES = (
    "gatekeeper_ids_unique_across_batches",
    "gatekeeper_timestamps_ordered_within_artifact",
)
GATEKEEPER_FILE_TYPES = ("gatekeeper_parquet_schema_matches",)
GATEKEEPER_RUN_TYPES = (
    "gatekeeper_artifact_conservation",
    "gatekeeper_segment_rows_match_manifest",
    "gatekeeper_drift",
)
GATEKEEPER_TYPES = GATEKEEPER_CROSS_BATCH_TYPES + GATEKEEPER_FILE_TYPES + GATEKEEPER_RUN_TYPES


class SuiteError(ValueError):
    """A suite file is missing or invalid: validation cannot run (fail closed)."""


@dataclass(frozen=True)
class ExpectationSpec:
    expectation_id: str
    expectation_type: str
    kwargs: Mapping[str, Any]
    severity: str
    notes: str = ""

    @property
    def is_ge(self) -> bool:
        return self.expectation_type.startswith("expect_")


@dataclass(frozen=True)
class Suite:
    dataset: str
    id_column: Optional[str]
    expectations: Tuple[ExpectationSpec, ...] = field(default=())

    def ge_expectations(self) -> Tuple[ExpectationSpec, ...]:
        return tuple(e for e in self.expectations if e.is_ge)

    def of_type(self, expectation_type: str) -> Tuple[ExpectationSpec, ...]:
        return tuple(e for e in self.expectations if e.expectation_type == expectation_type)


def _read(path: Path) -> Dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"suite file not found: {path.name}") from None
    except (OSError, ValueError) as exc:
        raise SuiteError(f"suite file unreadable: {path.name} ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"suite file must hold an object: {path.name}")
    return raw


def _parse_spec(raw: Any, source: str) -> ExpectationSpec:
    if not isinstance(raw, dict):
        raise SuiteError(f"{source}: expectation must be an object")
    missing = [k for k in ("id", "type", "severity") if k not in raw]
    if missing:
        raise SuiteError(f"{source}: expectation lacks {', '.join(missing)}")
    etype = str(raw["type"])
    if not (etype.startswith("expect_") or etype in GATEKEEPER_TYPES):
        raise SuiteError(f"{source}: unknown expectation type {etype}")
    if raw["severity"] not in SEVERITIES:
        raise SuiteError(f"{source}: expectation {raw['id']} has invalid severity")
    kwargs = raw.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise SuiteError(f"{source}: expectation {raw['id']} kwargs must be an object")
    return ExpectationSpec(str(raw["id"]), etype, dict(kwargs), str(raw["severity"]), str(raw.get("notes", "")))


def _load_file(directory: Path, name: str, seen: Tuple[str, ...] = ()) -> Tuple[Optional[str], Tuple[ExpectationSpec, ...]]:
    if name in seen:
        raise SuiteError(f"suite inheritance cycle at {name}")
    raw = _read(directory / f"{name}.json")
    specs = []
    id_column = raw.get("id_column")
    for base in raw.get("extends", ()):
        base_id, base_specs = _load_file(directory, str(base), seen + (name,))
        id_column = id_column or base_id
        specs.extend(base_specs)
    specs.extend(_parse_spec(e, f"{name}.json") for e in raw.get("expectations", ()))
    return id_column, tuple(specs)


def load_suite(dataset: str, suites_dir: Optional[str | Path] = None) -> Suite:
    directory = Path(suites_dir) if suites_dir else PACKAGED_SUITES_DIR
    id_column, specs = _load_file(directory, dataset)
    ids = [s.expectation_id for s in specs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SuiteError(f"suite {dataset}: duplicate expectation ids {', '.join(duplicates)}")
    return Suite(dataset=dataset, id_column=id_column, expectations=specs)


def load_suites(datasets: Iterable[str], suites_dir: Optional[str | Path] = None) -> Dict[str, Suite]:
    """Load the suite of every dataset; a missing suite is an error (fail closed)."""
    return {name: load_suite(name, suites_dir) for name in datasets}


def load_run_suite(suites_dir: Optional[str | Path] = None) -> Suite:
    return load_suite(RUN_SUITE, suites_dir)
