"""Run-level checks computed from the run manifest and earlier manifests.

Conservation (critical) and drift (warnings) cannot be seen in any batch of
rows; they use the counts the driver records in ``runs/<run_id>/manifest.json``
(see docs/ARCHITECTURE.md). Results use the same ``ExpectationOutcome`` model,
on the pseudo-dataset ``run``; ``sample_row_ids`` are artifact kinds or series
names, never row content.
"""
from __future__ import annotations

import math
import statistics
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from expectations.model import ExpectationOutcome
from expectations.suites import RUN_SUITE, ExpectationSpec, load_run_suite
from transforms.schemas import SEGMENT_DATASETS

_SERIES_LIMIT = 20


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _outcome(spec: ExpectationSpec, success: bool, elements: int, unexpected: int, ids: Sequence[str], detail: str) -> ExpectationOutcome:
    return ExpectationOutcome(
        RUN_SUITE, spec.expectation_id, spec.expectation_type, spec.severity, success, elements, unexpected, tuple(ids), detail
    )


def check_conservation(spec: ExpectationSpec, manifest: Mapping[str, Any]) -> ExpectationOutcome:
    """Per kind: ingested == published + dropped + dead_lettered. Missing counts fail closed."""
    counts = manifest.get("counts") or {}
    artifacts = counts.get("artifacts")
    files = counts.get("files") or {}
    read_any = (files.get("parsed") or 0) + (files.get("dead_lettered") or 0) > 0
    if not isinstance(artifacts, Mapping) or (not artifacts and read_any):
        return _outcome(spec, False, 0, 1, (), "counts.artifacts missing")
    bad: List[str] = []
    notes: List[str] = []
    for kind in sorted(artifacts):
        row = artifacts[kind] if isinstance(artifacts[kind], Mapping) else {}
        values = {k: _int(row.get(k)) for k in ("ingested", "published", "dropped", "dead_lettered")}
        if any(v is None for v in values.values()) or values["ingested"] != values["published"] + values["dropped"] + values["dead_lettered"]:
            bad.append(str(kind))
            shown = " ".join(f"{k}={'?' if v is None else v}" for k, v in values.items())
            notes.append(f"{kind}: {shown}")
    return _outcome(spec, not bad, len(artifacts), len(bad), bad, "; ".join(notes))


def check_segment_rows(spec: ExpectationSpec, manifest: Mapping[str, Any]) -> ExpectationOutcome:
    """Per kind: counts.segments[kind].published == datasets[kind].rows."""
    segments = (manifest.get("counts") or {}).get("segments")
    datasets = manifest.get("datasets") or {}
    if not isinstance(segments, Mapping):
        return _outcome(spec, False, 0, 1, (), "counts.segments missing")
    bad: List[str] = []
    notes: List[str] = []
    kinds = sorted(set(segments) | {d for d in datasets if d in SEGMENT_DATASETS})
    for kind in kinds:
        published = _int((segments.get(kind) or {}).get("published", 0))
        rows = _int((datasets.get(kind) or {}).get("rows", 0))
        if published is None or rows is None or published != rows:
            bad.append(str(kind))
            notes.append(f"{kind}: segments_published={published} dataset_rows={rows}")
    return _outcome(spec, not bad, len(kinds), len(bad), bad, "; ".join(notes))


# ---------------------------------------------------------------- drift


def _published_rows(manifest: Mapping[str, Any], chars_metric: str) -> Dict[str, float]:
    datasets = manifest.get("datasets") or {}
    return {
        f"{name}.rows": float(_int((datasets.get(name) or {}).get("rows")) or 0)
        for name in SEGMENT_DATASETS
        if name in datasets
    }


def _artifact_drop_rate(manifest: Mapping[str, Any], chars_metric: str) -> Dict[str, float]:
    series: Dict[str, float] = {}
    artifacts = (manifest.get("counts") or {}).get("artifacts") or {}
    total_in = total_dropped = 0
    for kind, row in sorted(artifacts.items()):
        ingested, dropped = _int((row or {}).get("ingested")), _int((row or {}).get("dropped"))
        if ingested and dropped is not None:
            series[f"{kind}.drop_rate"] = dropped / ingested
            total_in += ingested
            total_dropped += dropped
    segments = (manifest.get("counts") or {}).get("segments") or {}
    parsed = sum(_int((r or {}).get("parsed")) or 0 for r in segments.values())
    seg_dropped = sum(_int((r or {}).get("dropped")) or 0 for r in segments.values())
    if total_in:
        series["all.artifact_drop_rate"] = total_dropped / total_in
    if parsed:
        series["all.segment_drop_rate"] = seg_dropped / parsed
    return series


def _redaction_density(manifest: Mapping[str, Any], chars_metric: str) -> Dict[str, float]:
    entities = sum(_int(v) or 0 for v in ((manifest.get("counts") or {}).get("entities") or {}).values())
    chars = _int((manifest.get("metrics") or {}).get(chars_metric))
    if chars:
        return {"entities_per_1k_chars": entities * 1000.0 / chars}
    rows = sum(_published_rows(manifest, chars_metric).values())
    return {"entities_per_1k_rows": entities * 1000.0 / rows} if rows else {}


DRIFT_METRICS: Dict[str, Callable[[Mapping[str, Any], str], Dict[str, float]]] = {
    "published_rows": _published_rows,
    "artifact_drop_rate": _artifact_drop_rate,
    "redaction_density": _redaction_density,
}


def is_drift(value: float, history: Sequence[float], sigma: float, ratio: float) -> bool:
    """Far outside the history: beyond mean ± sigma·std AND beyond ratio× / ÷ratio of the mean.

    Both conditions must hold, so a series with a tiny spread does not warn on
    small absolute changes, and a noisy series does not warn on a mere doubling.
    """
    mean = statistics.fmean(history)
    std = statistics.pstdev(history) if len(history) > 1 else 0.0
    outside_sigma = abs(value - mean) > sigma * std
    outside_ratio = value > ratio * mean or value * ratio < mean
    return outside_sigma and outside_ratio


def check_drift(spec: ExpectationSpec, manifest: Mapping[str, Any], history: Sequence[Mapping[str, Any]],
                window_override: Optional[int] = None) -> ExpectationOutcome:
    kwargs = dict(spec.kwargs)
    if window_override is not None:
        kwargs["window"] = window_override
    metric = DRIFT_METRICS.get(str(kwargs.get("metric")))
    if metric is None:
        return _outcome(spec, False, 0, 1, (), "unknown drift metric")
    window = int(kwargs.get("window", 7))
    min_history = int(kwargs.get("min_history", 3))
    sigma, ratio = float(kwargs.get("sigma", 3.0)), float(kwargs.get("ratio", 3.0))
    chars_metric = str(kwargs.get("chars_metric", ""))
    current = metric(manifest, chars_metric)
    past = [metric(m, chars_metric) for m in history[-window:]] if window > 0 else []
    drifted: List[str] = []
    notes: List[str] = []
    checked = 0
    for series, value in sorted(current.items()):
        values = [p[series] for p in past if series in p and math.isfinite(p[series])]
        if len(values) < min_history:
            continue
        checked += 1
        if is_drift(value, values, sigma, ratio):
            drifted.append(series)
            if len(notes) < _SERIES_LIMIT:
                notes.append(
                    f"{series}={value:.4g} mean={statistics.fmean(values):.4g} "
                    f"std={statistics.pstdev(values):.4g} n={len(values)}"
                )
    detail = "; ".join(notes) if notes else ("" if checked else f"fewer than {min_history} prior runs")
    return _outcome(spec, not drifted, checked, len(drifted), drifted, detail)


def _prior_runs(manifest: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """Published runs before this one, oldest first."""
    run_id = manifest.get("run_id")
    prior = [
        m for m in history
        if isinstance(m, Mapping) and m.get("status") == "published" and m.get("run_id") != run_id
        and str(m.get("run_id", "")) < str(run_id or "\uffff")
    ]
    return sorted(prior, key=lambda m: (str(m.get("started_at", "")), str(m.get("run_id", ""))))


def evaluate_run_level(
    manifest: Mapping[str, Any], history: Sequence[Mapping[str, Any]], suites_dir: Optional[str] = None,
    drift_window: Optional[int] = None,
) -> List[ExpectationOutcome]:
    """All run-level outcomes of ``suites/run.json`` for one run.

    ``drift_window`` (config ``validation.drift_window``) overrides the suite's window.
    """
    suite = load_run_suite(suites_dir)
    prior = _prior_runs(manifest, history)
    outcomes: List[ExpectationOutcome] = []
    for spec in suite.expectations:
        if spec.expectation_type == "gatekeeper_artifact_conservation":
            outcomes.append(check_conservation(spec, manifest))
        elif spec.expectation_type == "gatekeeper_segment_rows_match_manifest":
            outcomes.append(check_segment_rows(spec, manifest))
        elif spec.expectation_type == "gatekeeper_drift":
            outcomes.append(check_drift(spec, manifest, prior, drift_window))
        else:
            outcomes.append(_outcome(spec, False, 0, 1, (), "not a run-level check"))
    return outcomes
