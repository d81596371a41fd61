"""Per-row derived columns and the bounded pandas frames GE validates.

Great Expectations checks columns; some gatekeeper rules are about nested values
(lists of consent event ids, residual findings, placeholder tokens in text, the
pyarrow types of every field). Those are turned here into small integer
columns prefixed ``_gk_`` that the suites then check with plain GE
expectations (e.g. ``expect_column_values_to_be_between(_gk_residual_findings_total, 0, 0)``).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Sequence, Tuple

import pandas as pd
import pyarrow as pa

from transforms.schemas import ADDED_COLUMNS, AUDIT_DATASET, DATASET_SCHEMAS, SEGMENT_DATASETS

# A well-formed placeholder (<EMAIL_ADDRESS>) or pseudonym (<PERSON_7f3a9c>).
WELL_FORMED_TOKEN = re.compile(r"^<[A-Z][A-Z0-9_]*?(?:_[0-9a-f]{4,16})?>$")
# Anything that looks like an attempt at one: "<" + a word that is all upper case
# or contains "_", closed by ">" or not closed at all ("<PERSON_", "<person_1>").
# Ordinary markup such as "<div>" or "a<b" is not a candidate.
_CANDIDATE_TOKEN = re.compile(r"<([A-Za-z][A-Za-z0-9_]*)(>?)")


def malformed_placeholder_count(text: Any) -> int:
    """Number of placeholder-like ``<...>`` tokens in ``text`` that are not well formed."""
    if not isinstance(text, str) or "<" not in text:
        return 0
    bad = 0
    for match in _CANDIDATE_TOKEN.finditer(text):
        word, closed = match.group(1), match.group(2)
        if "_" not in word and word.upper() != word:
            continue  # lower/mixed-case word without underscore: ordinary markup or prose
        if not closed or not WELL_FORMED_TOKEN.match(match.group(0)):
            bad += 1
    return bad


Checker = Callable[[Any], bool]


def _checker(arrow_type: pa.DataType) -> Checker:
    """A fast predicate: does a non-null Python value conform to ``arrow_type``?"""
    if pa.types.is_string(arrow_type):
        return lambda v: isinstance(v, str)
    if pa.types.is_boolean(arrow_type):
        return lambda v: isinstance(v, bool)
    if pa.types.is_integer(arrow_type):
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if pa.types.is_list(arrow_type):
        item = _checker(arrow_type.value_type)
        return lambda v: isinstance(v, (list, tuple)) and all(i is not None and item(i) for i in v)
    if pa.types.is_struct(arrow_type):
        fields = [(f.name, f.nullable, _checker(f.type)) for f in arrow_type]
        names = {name for name, _, _ in fields}
        return lambda v: (
            isinstance(v, Mapping) and set(v) == names
            and all((v[n] is None and nullable) or (v[n] is not None and check(v[n])) for n, nullable, check in fields)
        )
    return lambda v: False


CompiledSchema = Tuple[FrozenSet[str], Tuple[Tuple[str, bool, Checker], ...], FrozenSet[str]]


@lru_cache(maxsize=None)
def _compiled_for(dataset: str) -> CompiledSchema:
    return _compile(DATASET_SCHEMAS[dataset], frozenset(ADDED_COLUMNS.get(dataset, ())))


def _compile(schema: pa.Schema, may_be_absent: FrozenSet[str] = frozenset()) -> CompiledSchema:
    return frozenset(schema.names), tuple((f.name, f.nullable, _checker(f.type)) for f in schema), may_be_absent


def schema_violations(row: Mapping[str, Any], schema: "pa.Schema | CompiledSchema") -> int:
    """Fields missing, unexpected, null where not nullable, or of the wrong type.

    A column added to the schema later (``ADDED_COLUMNS``) may be absent: legacy rows."""
    names, fields, may_be_absent = _compile(schema) if isinstance(schema, pa.Schema) else schema
    violations = sum(1 for name in row if name not in names)
    for name, nullable, check in fields:
        if name not in row:
            violations += 0 if name in may_be_absent else 1
            continue
        value = row[name]
        if value is None:
            violations += 0 if nullable else 1
        elif not check(value):
            violations += 1
    return violations


def _count_total(findings: Any) -> int:
    """Total of a list of {"type","count"} entries; anything unreadable counts as 1 (fail closed)."""
    if findings is None:
        return 0
    if not isinstance(findings, (list, tuple)):
        return 1
    total = 0
    for entry in findings:
        count = entry.get("count") if isinstance(entry, Mapping) else None
        total += count if isinstance(count, int) and count > 0 else 1
    return total


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (list, tuple)) else 0


def _segment_columns(row: Mapping[str, Any]) -> Dict[str, int]:
    return {
        "_gk_consent_event_count": sum(1 for e in row.get("consent_event_ids") or () if isinstance(e, str) and e),
        "_gk_residual_findings_total": _count_total(row.get("residual_findings")),
        "_gk_malformed_placeholders": malformed_placeholder_count(row.get("text"))
        + malformed_placeholder_count(row.get("speaker")),
        "_gk_derived_from_count": _length(row.get("derived_from")),
    }


def _audit_columns(row: Mapping[str, Any]) -> Dict[str, int]:
    allowed = row.get("allowed") is True
    return {
        "_gk_allowed_without_events": int(allowed and _length(row.get("event_ids")) == 0),
        "_gk_reason_mismatch": int(allowed != (row.get("reason") == "granted")),
    }


def _no_columns(row: Mapping[str, Any]) -> Dict[str, int]:
    return {}


def _extra_columns_for(dataset: str) -> Callable[[Mapping[str, Any]], Dict[str, int]]:
    if dataset in SEGMENT_DATASETS:
        return _segment_columns
    if dataset == AUDIT_DATASET:
        return _audit_columns
    return _no_columns


def rows_to_frame(dataset: str, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A bounded frame of one batch: the dataset's columns plus its ``_gk_*`` columns.

    A schema column that no row of the batch carries is left out of the frame,
    so ``expect_table_columns_to_match_set`` sees it missing. Unknown fields are
    not copied into the frame (they are counted in ``_gk_schema_violations``).
    """
    schema = DATASET_SCHEMAS[dataset]
    extra = _extra_columns_for(dataset)
    compiled = _compiled_for(dataset)
    columns: Dict[str, List[Any]] = {name: [] for name in schema.names}
    derived: Dict[str, List[int]] = {"_gk_schema_violations": []}
    for row in rows:
        if not isinstance(row, Mapping):
            row = {}
        for name in schema.names:
            columns[name].append(row.get(name))
        derived["_gk_schema_violations"].append(schema_violations(row, compiled) if row else len(schema))
        for name, value in extra(row).items():
            derived.setdefault(name, []).append(value)
    present = {name for row in rows if isinstance(row, Mapping) for name in row}
    data: Dict[str, Any] = {}
    for name, values in columns.items():
        if name not in present:
            continue
        arrow_type = schema.field(name).type
        if pa.types.is_integer(arrow_type):
            data[name] = pd.array([v if isinstance(v, int) and not isinstance(v, bool) else None for v in values], dtype="Int64")
        else:
            data[name] = pd.Series(values, dtype=object)
    for name, values in derived.items():
        data[name] = pd.Series(values, dtype="int64")
    return pd.DataFrame(data)
