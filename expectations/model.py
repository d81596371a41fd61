"""The validation result model: ids, codes and counts only, never row content.

Every check, whether Great Expectations ran it on a batch or gatekeeper code
computed it across batches or from the run manifest, ends up as an
``ExpectationOutcome``. Outcomes of the same expectation on the same dataset are
merged (per batch, per shard, per file) into one, and a run's outcomes make one
``ValidationReport``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

CRITICAL = "critical"
WARNING = "warning"
SEVERITIES = (CRITICAL, WARNING)
MAX_SAMPLE_IDS = 20
_MAX_DETAIL_CHARS = 500


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation on one dataset (possibly merged over batches).

    ``sample_row_ids`` holds at most ``MAX_SAMPLE_IDS`` row ids (segment_id,
    decision_id, dead_letter_id, or artifact kinds / series names for run-level
    checks). ``detail`` is a short machine-generated note made of counts and
    codes (e.g. ``"transcript: ingested=5 published=3 dropped=1 dead_lettered=0"``).
    """

    dataset: str
    expectation_id: str
    expectation_type: str
    severity: str
    success: bool
    element_count: int
    unexpected_count: int
    sample_row_ids: Tuple[str, ...] = ()
    detail: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity: {self.severity!r}")
        if len(self.sample_row_ids) > MAX_SAMPLE_IDS:
            object.__setattr__(self, "sample_row_ids", tuple(self.sample_row_ids[:MAX_SAMPLE_IDS]))
        if len(self.detail) > _MAX_DETAIL_CHARS:
            object.__setattr__(self, "detail", self.detail[: _MAX_DETAIL_CHARS - 1] + "…")

    @property
    def key(self) -> Tuple[str, str]:
        return (self.dataset, self.expectation_id)

    @property
    def is_critical_failure(self) -> bool:
        return self.severity == CRITICAL and not self.success

    @property
    def is_warning(self) -> bool:
        return self.severity == WARNING and not self.success

    def merge(self, other: "ExpectationOutcome") -> "ExpectationOutcome":
        """Combine two partial outcomes of the same expectation (e.g. two batches)."""
        if other.key != self.key:
            raise ValueError("cannot merge outcomes of different expectations")
        ids = list(self.sample_row_ids)
        for row_id in other.sample_row_ids:
            if len(ids) >= MAX_SAMPLE_IDS:
                break
            if row_id not in ids:
                ids.append(row_id)
        details = [d for d in (self.detail, other.detail) if d]
        detail = "; ".join(dict.fromkeys("; ".join(details).split("; "))) if details else ""
        return replace(
            self,
            severity=CRITICAL if CRITICAL in (self.severity, other.severity) else WARNING,
            success=self.success and other.success,
            element_count=self.element_count + other.element_count,
            unexpected_count=self.unexpected_count + other.unexpected_count,
            sample_row_ids=tuple(ids),
            detail=detail,
        )

    def to_dict(self) -> Dict[str, Any]:
        return {
            "dataset": self.dataset,
            "expectation_id": self.expectation_id,
            "expectation_type": self.expectation_type,
            "severity": self.severity,
            "success": self.success,
            "element_count": self.element_count,
            "unexpected_count": self.unexpected_count,
            "sample_row_ids": list(self.sample_row_ids),
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "ExpectationOutcome":
        return cls(
            dataset=str(raw["dataset"]),
            expectation_id=str(raw["expectation_id"]),
            expectation_type=str(raw["expectation_type"]),
            severity=str(raw["severity"]),
            success=bool(raw["success"]),
            element_count=int(raw["element_count"]),
            unexpected_count=int(raw["unexpected_count"]),
            sample_row_ids=tuple(str(i) for i in raw.get("sample_row_ids", ())),
            detail=str(raw.get("detail", "")),
        )


def merge_outcomes(outcomes: Iterable[ExpectationOutcome]) -> Tuple[ExpectationOutcome, ...]:
    """Merge partial outcomes per (dataset, expectation_id); stable, sorted output."""
    merged: Dict[Tuple[str, str], ExpectationOutcome] = {}
    for outcome in outcomes:
        previous = merged.get(outcome.key)
        merged[outcome.key] = outcome if previous is None else previous.merge(outcome)
    return tuple(merged[k] for k in sorted(merged))


@dataclass(frozen=True)
class ValidationReport:
    """All outcomes of one run. ``success`` is False iff a critical outcome failed."""

    run_id: str
    success: bool
    outcomes: Tuple[ExpectationOutcome, ...] = field(default=())
    data_docs_path: Optional[str] = None

    def __post_init__(self) -> None:
        expected = not any(o.is_critical_failure for o in self.outcomes)
        if self.success != expected:
            raise ValueError("ValidationReport.success must be False iff a critical outcome failed")

    @classmethod
    def build(
        cls, run_id: str, outcomes: Iterable[ExpectationOutcome], data_docs_path: Optional[str] = None
    ) -> "ValidationReport":
        merged = merge_outcomes(outcomes)
        return cls(
            run_id=run_id,
            success=not any(o.is_critical_failure for o in merged),
            outcomes=merged,
            data_docs_path=data_docs_path,
        )

    @property
    def critical_failures(self) -> Tuple[ExpectationOutcome, ...]:
        return tuple(o for o in self.outcomes if o.is_critical_failure)

    @property
    def warnings(self) -> Tuple[ExpectationOutcome, ...]:
        return tuple(o for o in self.outcomes if o.is_warning)

    @property
    def datasets(self) -> Tuple[str, ...]:
        return tuple(sorted({o.dataset for o in self.outcomes}))

    def with_data_docs(self, path: Optional[str]) -> "ValidationReport":
        return replace(self, data_docs_path=path)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "run_id": self.run_id,
            "success": self.success,
            "critical_failures": len(self.critical_failures),
            "warnings": len(self.warnings),
            "data_docs_path": self.data_docs_path,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "ValidationReport":
        return cls(
            run_id=str(raw["run_id"]),
            success=bool(raw["success"]),
            outcomes=tuple(ExpectationOutcome.from_dict(o) for o in raw.get("outcomes", ())),
            data_docs_path=raw.get("data_docs_path"),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def _flatten(part: Any, into: List[ExpectationOutcome], docs: List[str]) -> None:
    if isinstance(part, ValidationReport):
        into.extend(part.outcomes)
        if part.data_docs_path:
            docs.append(part.data_docs_path)
    elif isinstance(part, ExpectationOutcome):
        into.append(part)
    elif isinstance(part, Mapping):
        _flatten(ValidationReport.from_dict(part), into, docs)
    else:
        for item in part:
            _flatten(item, into, docs)


def merge_reports(run_id: str, *parts: Any, data_docs_path: Optional[str] = None) -> ValidationReport:
    """Combine reports, report dicts, outcomes, or (nested) lists of them into one report.

    ``merge_reports(run_id, [batch_report], run_level_outcomes)`` is the driver's call.
    """
    outcomes: List[ExpectationOutcome] = []
    docs: List[str] = []
    for part in parts:
        _flatten(part, outcomes, docs)
    return ValidationReport.build(run_id, outcomes, data_docs_path or (docs[0] if docs else None))
