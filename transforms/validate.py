"""ValidateOutput: the expectation suites, run inside the pipeline.

Input: ``{dataset_name: PCollection[dict]}``, rows shaped like
``transforms/schemas.py`` (lists as lists; entity_counts / residual_findings as
lists of ``{"type", "count"}``). Output: a PCollection with exactly one
``ValidationReport``.

Every dataset goes through the same keyed steps (rows tagged with their dataset
name), so the graph does not grow with the number of datasets and expectations:

* Rows are cut into bounded batches per dataset (at most ``batch_rows``) and every
  batch is validated by its dataset's GE suite in a DoFn whose ``setup`` creates
  the GE context once per worker.
* Uniqueness of ids across all batches: count per (dataset, expectation, id)
  (``CombinePerKey``), then ids with count > 1 are combined per expectation into
  one outcome (ids only).
* Timestamps ordered within an artifact: (segment_id, start_ms) grouped by
  (dataset, expectation, artifact_id), checked per artifact, combined per
  expectation.
* All partial outcomes are merged by one ``CombineGlobally`` into the report.

Run-level checks (conservation, drift) need the manifest and history, which the
driver has: see ``expectations.run_level.evaluate_run_level`` and
``expectations.model.merge_reports``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.utils.shared import Shared

from expectations.model import MAX_SAMPLE_IDS, ExpectationOutcome, ValidationReport, merge_outcomes
from expectations.runner import BatchValidator, complete_with_suites, ordering_outcome, out_of_order_ids
from expectations.suites import ExpectationSpec, Suite, load_suites
from transforms.schemas import SEGMENT_DATASETS

_UNIQUE = "gatekeeper_ids_unique_across_batches"
_ORDERED = "gatekeeper_timestamps_ordered_within_artifact"


METRICS_NAMESPACE = "validate"
TEXT_CHARS_METRIC = "text_chars"  # manifest key "validate:text_chars": basis of redaction density


ExpectationKey = Tuple[str, str]   # (dataset, expectation_id)


class _ValidateBatchDoFn(beam.DoFn):
    """Runs one dataset's GE suite on each batch of rows; counts published text characters.

    The GE context is expensive (seconds), so every dataset's DoFn in a worker process shares
    one ``BatchValidator`` holding all suites, through ``apache_beam.utils.shared.Shared``.
    """

    def __init__(self, dataset: str, suites: Mapping[str, Suite], shared_validator: Shared):
        self._dataset = dataset
        self._suites = dict(suites)
        self._shared_validator = shared_validator
        self._validator: Optional[BatchValidator] = None
        self._text_chars = beam.metrics.Metrics.counter(METRICS_NAMESPACE, TEXT_CHARS_METRIC)
        self._rows = beam.metrics.Metrics.counter(METRICS_NAMESPACE, f"rows_{dataset}")

    def setup(self) -> None:
        self._validator = self._shared_validator.acquire(lambda: BatchValidator(self._suites))

    def process(self, batch: List[Mapping[str, Any]]) -> Iterable[ExpectationOutcome]:
        assert self._validator is not None
        self._rows.inc(len(batch))
        if self._dataset in SEGMENT_DATASETS:
            self._text_chars.inc(sum(len(r.get("text") or "") for r in batch if isinstance(r, Mapping)))
        yield from self._validator.validate_rows(self._dataset, batch)


def _id_keys(row: Mapping[str, Any], dataset: str, specs: Sequence[ExpectationSpec]):
    """((dataset, expectation_id, id), 1) for each uniqueness expectation of the row's dataset."""
    if not isinstance(row, Mapping):
        return
    for spec in specs:
        value = row.get(str(spec.kwargs["column"]))
        if value is not None:  # null ids are reported by the not-null expectations
            yield ((dataset, spec.expectation_id, str(value)), 1)


def _by_expectation(item):
    (dataset, expectation_id, row_id), count = item
    return ((dataset, expectation_id), (row_id, count))


class _UniquenessCombineFn(beam.CombineFn):
    """(id, count) pairs of one expectation → (rows, duplicated rows, duplicated ids, sample ids)."""

    def create_accumulator(self):
        return (0, 0, 0, ())

    def add_input(self, acc, element):
        row_id, count = element
        rows, dup_rows, dup_ids, sample = acc
        if count > 1:
            dup_rows, dup_ids = dup_rows + count, dup_ids + 1
            sample = tuple(sorted(sample + (row_id,))[:MAX_SAMPLE_IDS])
        return (rows + count, dup_rows, dup_ids, sample)

    def merge_accumulators(self, accumulators):
        rows = dup_rows = dup_ids = 0
        sample: Tuple[str, ...] = ()
        for r, d, i, s in accumulators:
            rows, dup_rows, dup_ids = rows + r, dup_rows + d, dup_ids + i
            sample = tuple(sorted(set(sample) | set(s))[:MAX_SAMPLE_IDS])
        return (rows, dup_rows, dup_ids, sample)

    def extract_output(self, acc):
        return acc


def _uniqueness_outcome(item, specs: Mapping[ExpectationKey, ExpectationSpec]) -> ExpectationOutcome:
    (dataset, expectation_id), (rows, dup_rows, dup_ids, sample) = item
    spec = specs[(dataset, expectation_id)]
    return ExpectationOutcome(
        dataset, spec.expectation_id, spec.expectation_type, spec.severity,
        dup_rows == 0, rows, dup_rows, sample, f"duplicated_ids={dup_ids}" if dup_ids else "",
    )


def _order_entries(row: Mapping[str, Any], dataset: str, specs: Sequence[ExpectationSpec]):
    """((dataset, expectation_id, group), (order, start)) for each ordering expectation."""
    if not isinstance(row, Mapping):
        return
    for spec in specs:
        kw = spec.kwargs
        group = row.get(str(kw.get("group_column", "artifact_id")))
        order = row.get(str(kw.get("order_column", "segment_id")))
        if group is None or order is None:
            continue
        start = row.get(str(kw.get("time_column", "start_ms")))
        start = start if isinstance(start, int) and not isinstance(start, bool) else None
        yield ((dataset, spec.expectation_id, str(group)), (str(order), start))


def _check_artifact(item):
    (dataset, expectation_id, _group), entries = item
    entries = list(entries)
    return ((dataset, expectation_id), (len(entries), tuple(out_of_order_ids(entries))))


class _OrderingCombineFn(beam.CombineFn):
    """Per-artifact (rows, bad ids) of one expectation → (rows, artifacts, bad artifacts, bad rows, sample)."""

    def create_accumulator(self):
        return (0, 0, 0, 0, ())

    def add_input(self, acc, element):
        rows, bad_ids = element
        r, a, ba, br, sample = acc
        if bad_ids:
            sample = tuple(sorted(sample + bad_ids)[:MAX_SAMPLE_IDS])
        return (r + rows, a + 1, ba + (1 if bad_ids else 0), br + len(bad_ids), sample)

    def merge_accumulators(self, accumulators):
        total = [0, 0, 0, 0]
        sample: Tuple[str, ...] = ()
        for *numbers, s in accumulators:
            total = [x + y for x, y in zip(total, numbers)]
            sample = tuple(sorted(sample + s)[:MAX_SAMPLE_IDS])
        return (*total, sample)

    def extract_output(self, acc):
        return acc


def _ordering_outcome_of(item, specs: Mapping[ExpectationKey, ExpectationSpec]) -> ExpectationOutcome:
    (dataset, expectation_id), (rows, artifacts, bad_artifacts, bad_rows, sample) = item
    outcome = ordering_outcome(dataset, specs[(dataset, expectation_id)], rows, artifacts, sample, bad_artifacts)
    # ordering_outcome counts (and re-sorts) the sample; keep the true number of rows out of order
    return replace(outcome, success=bad_rows == 0, unexpected_count=bad_rows, sample_row_ids=sample)


class _ReportCombineFn(beam.CombineFn):
    """All partial outcomes → the run's ValidationReport (complete: one outcome per expectation)."""

    def __init__(self, run_id: str, suites: Mapping[str, Suite]):
        self._run_id = run_id
        self._suites = dict(suites)

    def create_accumulator(self):
        return {}

    def add_input(self, acc, outcome: ExpectationOutcome):
        previous = acc.get(outcome.key)
        acc[outcome.key] = outcome if previous is None else previous.merge(outcome)
        return acc

    def merge_accumulators(self, accumulators):
        merged: Dict[Tuple[str, str], ExpectationOutcome] = {}
        for acc in accumulators:
            for outcome in acc.values():
                self.add_input(merged, outcome)
        return merged

    def extract_output(self, acc) -> ValidationReport:
        outcomes = complete_with_suites(merge_outcomes(acc.values()), self._suites)
        return ValidationReport.build(self._run_id, outcomes)


class ValidateOutput(beam.PTransform):
    """{dataset: PCollection[row dict]} → PCollection[ValidationReport] (one element).

    Per dataset only row-wise steps that fuse into the step producing the rows (batching + GE,
    and emitting keys); the shuffles after them are shared by every dataset and expectation.
    """

    def __init__(self, suites_dir: Optional[str] = None, batch_rows: int = 5000, run_id: str = ""):
        super().__init__()
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self._suites_dir = suites_dir or None
        self._batch_rows = batch_rows
        self._run_id = run_id

    def expand(self, pcolls: Mapping[str, beam.PCollection]):
        if not pcolls:
            raise ValueError("ValidateOutput needs at least one dataset")
        suites = load_suites(sorted(pcolls), self._suites_dir)  # fails fast on a bad suite
        pipeline = next(iter(pcolls.values())).pipeline
        shared_validator = Shared()
        specs: Dict[ExpectationKey, ExpectationSpec] = {}
        outcomes: List[beam.PCollection] = []
        id_keys: List[beam.PCollection] = []
        order_entries: List[beam.PCollection] = []
        for name in sorted(pcolls):
            rows, suite = pcolls[name], suites[name]
            outcomes.append(
                rows
                # Fixed-size batches: GE's cost is per call, not per row (~0.6 s a call).
                | f"Batch[{name}]" >> beam.BatchElements(
                    min_batch_size=self._batch_rows, max_batch_size=self._batch_rows)
                | f"ValidateBatches[{name}]" >> beam.ParDo(_ValidateBatchDoFn(name, suites, shared_validator))
            )
            unique, ordered = tuple(suite.of_type(_UNIQUE)), tuple(suite.of_type(_ORDERED))
            specs.update({(name, spec.expectation_id): spec for spec in unique + ordered})
            if unique:
                id_keys.append(rows | f"IdKeys[{name}]" >> beam.FlatMap(_id_keys, name, unique))
            if ordered:
                order_entries.append(rows | f"OrderKeys[{name}]" >> beam.FlatMap(_order_entries, name, ordered))
        if id_keys:
            outcomes.append(
                id_keys
                | "AllIdKeys" >> beam.Flatten(pipeline=pipeline)
                | "CountIds" >> beam.CombinePerKey(sum)
                | "IdsByExpectation" >> beam.Map(_by_expectation)
                | "Unique" >> beam.CombinePerKey(_UniquenessCombineFn())
                | "UniqueOutcomes" >> beam.Map(_uniqueness_outcome, specs)
            )
        if order_entries:
            outcomes.append(
                order_entries
                | "AllOrderKeys" >> beam.Flatten(pipeline=pipeline)
                | "ByArtifact" >> beam.GroupByKey()
                | "CheckArtifact" >> beam.Map(_check_artifact)
                | "Ordered" >> beam.CombinePerKey(_OrderingCombineFn())
                | "OrderedOutcomes" >> beam.Map(_ordering_outcome_of, specs)
            )
        return (
            outcomes
            | "FlattenOutcomes" >> beam.Flatten(pipeline=pipeline)
            | "CombineReport" >> beam.CombineGlobally(_ReportCombineFn(self._run_id, suites))
        )
