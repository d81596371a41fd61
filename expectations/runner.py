"""Run the GE part of the suites on bounded batches, and the cross-batch checks.

``BatchValidator`` builds one ephemeral Great Expectations context with one
pandas data source and one ``gx.ExpectationSuite`` per dataset; create it once
per worker (``DoFn.setup``) or once per ``gatekeeper validate`` call. Only
counts and row ids are taken out of GE's results: GE puts offending *values*
into ``partial_unexpected_list`` and friends, and those never leave this module.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from expectations.derived import rows_to_frame
from expectations.model import MAX_SAMPLE_IDS, ExpectationOutcome
from expectations.suites import GATEKEEPER_FILE_TYPES, ExpectationSpec, Suite

log = logging.getLogger(__name__)

_GE_RESULT_FORMAT_BASE = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_SAMPLE_IDS}


def _ge():
    import great_expectations as gx  # slow import (~5 s): only where validation runs

    # GE pins this module logger to INFO at import; it announces temp folders on every context.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    return gx


def _to_ge_expectation(spec: ExpectationSpec):
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    config = ExpectationConfiguration(
        type=spec.expectation_type,
        kwargs=dict(spec.kwargs),
        meta={"gatekeeper_id": spec.expectation_id, "severity": spec.severity},
    )
    return config.to_domain_obj()


class BatchValidator:
    """GE suites for a set of datasets, ready to validate batches of rows."""

    def __init__(self, suites: Mapping[str, Suite]):
        gx = _ge()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._suites = dict(suites)
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        source = self._context.data_sources.add_pandas("gatekeeper_batches")
        self._batch_definitions: Dict[str, Any] = {}
        self._ge_suites: Dict[str, Any] = {}
        self._specs: Dict[str, Dict[str, ExpectationSpec]] = {}
        for name, suite in self._suites.items():
            asset = source.add_dataframe_asset(name=f"{name}_rows")
            self._batch_definitions[name] = asset.add_batch_definition_whole_dataframe(f"{name}_batch")
            ge_suite = gx.ExpectationSuite(name=f"gatekeeper_{name}")
            specs = {}
            for spec in suite.ge_expectations():
                ge_suite.add_expectation(_to_ge_expectation(spec))
                specs[spec.expectation_id] = spec
            self._ge_suites[name] = ge_suite
            self._specs[name] = specs

    @property
    def suites(self) -> Dict[str, Suite]:
        return dict(self._suites)

    def validate_rows(self, dataset: str, rows: Sequence[Mapping[str, Any]]) -> List[ExpectationOutcome]:
        """Validate one bounded batch of rows; one outcome per GE expectation of the suite."""
        if dataset not in self._suites:
            raise KeyError(f"no suite for dataset {dataset}")
        if not rows:
            return []
        suite = self._suites[dataset]
        frame = rows_to_frame(dataset, rows)
        result_format = dict(_GE_RESULT_FORMAT_BASE)
        if suite.id_column:
            result_format["unexpected_index_column_names"] = [suite.id_column]
        batch = self._batch_definitions[dataset].get_batch(batch_parameters={"dataframe": frame})
        suite_result = batch.validate(self._ge_suites[dataset], result_format=result_format)
        outcomes: Dict[str, ExpectationOutcome] = {}
        for ev in suite_result.results:
            meta = ev.expectation_config.meta or {}
            spec = self._specs[dataset].get(meta.get("gatekeeper_id", ""))
            if spec is None:
                continue
            outcomes[spec.expectation_id] = _outcome_from_ge(dataset, spec, ev, len(frame), suite.id_column)
        for spec_id, spec in self._specs[dataset].items():
            if spec_id not in outcomes:  # GE returned nothing for it: fail closed
                outcomes[spec_id] = ExpectationOutcome(
                    dataset, spec_id, spec.expectation_type, spec.severity, False, len(frame), len(frame), (), "no_result"
                )
        return [outcomes[k] for k in sorted(outcomes)]


def _outcome_from_ge(dataset: str, spec: ExpectationSpec, ev: Any, rows: int, id_column: Optional[str]) -> ExpectationOutcome:
    """Counts and ids only; GE's value lists are deliberately not read."""
    result = ev.result or {}
    success = bool(ev.success)
    raised = bool((ev.exception_info or {}).get("raised_exception")) if isinstance(ev.exception_info, dict) else False
    detail = ""
    if "unexpected_count" in result:
        element_count = int(result.get("element_count", rows) or 0)
        unexpected = int(result.get("unexpected_count") or 0)
    else:  # table-level expectation, or an evaluation error
        element_count = rows
        unexpected = 0 if success else rows
        if not success and (raised or not result):
            detail = "evaluation_error"
    sample: List[str] = []
    if id_column and not success:
        for entry in result.get("partial_unexpected_index_list") or ():
            row_id = entry.get(id_column) if isinstance(entry, dict) else None
            if isinstance(row_id, str) and row_id and row_id not in sample:
                sample.append(row_id)
            if len(sample) >= MAX_SAMPLE_IDS:
                break
    return ExpectationOutcome(
        dataset=dataset,
        expectation_id=spec.expectation_id,
        expectation_type=spec.expectation_type,
        severity=spec.severity,
        success=success,
        element_count=element_count,
        unexpected_count=unexpected,
        sample_row_ids=tuple(sample),
        detail=detail,
    )


# ---------------------------------------------------------------- cross-batch checks


def uniqueness_outcome(
    dataset: str, spec: ExpectationSpec, total_rows: int, duplicated_ids: Iterable[Tuple[str, int]]
) -> ExpectationOutcome:
    """From (id, count>1) pairs: rows sharing an id are unexpected; sample = the ids."""
    duplicated = sorted(duplicated_ids)
    unexpected = sum(count for _, count in duplicated)
    return ExpectationOutcome(
        dataset=dataset,
        expectation_id=spec.expectation_id,
        expectation_type=spec.expectation_type,
        severity=spec.severity,
        success=unexpected == 0,
        element_count=total_rows,
        unexpected_count=unexpected,
        sample_row_ids=tuple(row_id for row_id, _ in duplicated[:MAX_SAMPLE_IDS]),
        detail=f"duplicated_ids={len(duplicated)}" if duplicated else "",
    )


def _order_key(row_id: str) -> Tuple[str, int, str]:
    head, _, tail = row_id.rpartition(":")
    return (head, int(tail), "") if tail.isdigit() else (head, -1, row_id)


def out_of_order_ids(entries: Iterable[Tuple[str, Optional[int]]]) -> List[str]:
    """Row ids whose start time is earlier than the previous row's, in segment-id order.

    ``entries`` are (segment_id, start_ms) of ONE artifact id; segment ids
    ``<meeting>/<artifact>:<index>`` of different meetings that reuse the artifact id
    are separate sequences. Rows without a start time are skipped. Local inversions are counted, so one outlier flags one
    row rather than every row after it.
    """
    bad: List[str] = []
    previous: Optional[int] = None
    sequence: Optional[str] = None
    for row_id, start in sorted(entries, key=lambda e: _order_key(str(e[0]))):
        head = _order_key(str(row_id))[0]
        if head != sequence:   # another meeting's artifact of the same id: its own sequence
            sequence, previous = head, None
        if start is None:
            continue
        if previous is not None and start < previous:
            bad.append(str(row_id))
        previous = start
    return bad


def ordering_outcome(
    dataset: str, spec: ExpectationSpec, rows_checked: int, artifacts_checked: int, bad_ids: Sequence[str], bad_artifacts: int
) -> ExpectationOutcome:
    return ExpectationOutcome(
        dataset=dataset,
        expectation_id=spec.expectation_id,
        expectation_type=spec.expectation_type,
        severity=spec.severity,
        success=not bad_ids,
        element_count=rows_checked,
        unexpected_count=len(bad_ids),
        sample_row_ids=tuple(sorted(bad_ids)[:MAX_SAMPLE_IDS]),
        detail=f"artifacts_out_of_order={bad_artifacts}/{artifacts_checked}" if bad_ids else "",
    )


def not_evaluated(dataset: str, spec: ExpectationSpec, reason: str = "no_rows") -> ExpectationOutcome:
    """An expectation that had nothing to check (an empty dataset): passes, with zero elements."""
    return ExpectationOutcome(dataset, spec.expectation_id, spec.expectation_type, spec.severity, True, 0, 0, (), reason)


def complete_with_suites(outcomes: Iterable[ExpectationOutcome], suites: Mapping[str, Suite]) -> List[ExpectationOutcome]:
    """Add a zero-element outcome for every suite expectation that produced none."""
    present = list(outcomes)
    keys = {o.key for o in present}
    for name, suite in suites.items():
        for spec in suite.expectations:
            if (name, spec.expectation_id) not in keys:
                reason = "parquet_files_only" if spec.expectation_type in GATEKEEPER_FILE_TYPES else "no_rows"
                present.append(not_evaluated(name, spec, reason))
    return present
