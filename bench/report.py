"""Turn raw benchmark results into target checks, a JSON file and a Markdown table.

Targets (issue 8): redaction >= 2.2x stock Presidio and >= 0.9x the bare spaCy floor per
core; the whole pipeline >= 0.75x the floor per core; 2 workers >= 1.7x one worker; peak
memory <= 1.5 GB per worker. Every ratio compares figures measured in the same run.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

MEMORY_LIMIT_MIB = 1536.0


@dataclass(frozen=True)
class TargetCheck:
    name: str
    target: str
    measured: Optional[float]
    unit: str
    passed: Optional[bool]            # None: not measured (benchmark skipped or failed)


def _get(results: Dict[str, Any], *path: str) -> Optional[Any]:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _at_least(name: str, value: Optional[float], minimum: float, unit: str = "x") -> TargetCheck:
    return TargetCheck(name, f">= {minimum:g}{unit}", value, unit,
                       None if value is None else value >= minimum)


def _at_most(name: str, value: Optional[float], maximum: float, unit: str) -> TargetCheck:
    return TargetCheck(name, f"<= {maximum:g} {unit}", value, unit, None if value is None else value <= maximum)


def target_checks(results: Dict[str, Any]) -> List[TargetCheck]:
    """Pass/fail per target from the raw per-benchmark results."""
    redaction = results.get("redaction_speed") or {}
    e2e = results.get("pipeline_e2e") or {}
    consent = results.get("consent_join") or {}
    worker_peaks = [v for v in (_get(e2e, "one_worker", "peak_rss_per_worker_mib_max"),
                                _get(e2e, "two_workers", "peak_rss_per_worker_mib_max")) if v is not None]
    return [
        _at_least("redaction vs stock Presidio (1 core)", redaction.get("ratio_vs_stock_presidio"), 2.2),
        _at_least("redaction vs bare spaCy floor (1 core)", redaction.get("ratio_vs_spacy_pipe"), 0.9),
        _at_least("pipeline e2e, 1 worker, vs floor per core",
                  _get(e2e, "one_worker", "ratio_per_core_vs_floor"), 0.75),
        _at_least("pipeline e2e, 2 workers, vs floor per core",
                  _get(e2e, "two_workers", "ratio_per_core_vs_floor"), 0.75),
        _at_least("pipeline e2e, 2 workers vs 1 worker", e2e.get("speedup_2w_vs_1w"), 1.7),
        _at_least("pipeline e2e, 2 workers vs 1 worker, steady state (start-up taken out)",
                  e2e.get("speedup_2w_vs_1w_steady"), 1.8),
        _at_most("local start-up: first element processed (slower mode)", _first_element(e2e), 8, "s"),
        _at_most("peak RSS per pipeline worker", max(worker_peaks) if worker_peaks else None,
                 MEMORY_LIMIT_MIB, "MiB"),
        _at_most("peak RSS per worker, consent join", _consent_worker_peak(consent),
                 MEMORY_LIMIT_MIB, "MiB"),
    ]


def _first_element(e2e: Dict[str, Any]) -> Optional[float]:
    values = [_get(e2e, key, "first_element_seconds_median") for key in ("one_worker", "two_workers")]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _consent_mode(consent: Dict[str, Any]) -> str:
    workers = consent.get("workers")
    if consent.get("running_mode") == "multi_processing":
        return f"{workers} worker processes"
    return "in-process worker, driver included"


def _consent_worker_peak(consent: Dict[str, Any]) -> Optional[float]:
    """Per-worker peak; results from before per-worker sampling only have the whole process."""
    value = consent.get("peak_rss_per_worker_mib")
    return value if value is not None else consent.get("peak_rss_self_mib")


def figures(results: Dict[str, Any]) -> List[List[str]]:
    """[measure, value] rows of the absolute figures (context for the ratios; noisy)."""
    rows: List[List[str]] = []
    red = results.get("redaction_speed") or {}
    for name, value in (red.get("chars_per_sec_median") or {}).items():
        rows.append([f"redaction bench: {name} chars/s (median of {red.get('rounds')})", f"{value:,}"])
    e2e = results.get("pipeline_e2e") or {}
    if e2e:
        corpus = e2e.get("corpus", {})
        rows.append(["e2e corpus", f"{corpus.get('chars', 0):,} chars, {corpus.get('meetings')} meetings, "
                                   f"{corpus.get('segments')} segments"])
        rows.append(["e2e spaCy floor chars/s (same text, 1 core)", f"{_get(e2e, 'spacy_floor', 'chars_per_sec_median'):,}"])
        for label, key in (("1 worker", "one_worker"), ("2 workers", "two_workers")):
            part = e2e.get(key)
            if not part:
                continue
            rows.append([f"e2e {label}: chars/s (median of {e2e.get('rounds')}, wall)",
                         f"{part.get('chars_per_sec_median', 0):,} ({part.get('wall_seconds_median')} s)"])
            rows.append([f"e2e {label}: start-up s / steady-state chars/s",
                         f"{part.get('startup_seconds')} / {part.get('steady_chars_per_sec')}"])
            rows.append([f"e2e {label}: first element / first chunk redacted, s after start",
                         f"{part.get('first_element_seconds_median')} / {part.get('first_redaction_seconds_median')}"])
            rows.append([f"e2e {label}: chars per CPU-second", f"{part.get('chars_per_cpu_second_median', 0):,}"])
            if part.get("cpu_seconds_median") is not None:
                rows.append([f"e2e {label}: CPU seconds, all processes (median)", f"{part['cpu_seconds_median']}"])
            rows.append([f"e2e {label}: peak RSS worker / driver MiB",
                         f"{part.get('peak_rss_per_worker_mib_max')} / {part.get('peak_rss_driver_mib_max')}"])
        if e2e.get("speedup_2w_vs_1w_rounds"):
            rows.append(["e2e 2 workers vs 1 worker, per round / start-up taken out",
                         f"{', '.join(f'{r}x' for r in e2e['speedup_2w_vs_1w_rounds'])} / "
                         f"{e2e.get('speedup_2w_vs_1w_steady')}x"])
    consent = results.get("consent_join") or {}
    if consent:
        rows.append([f"consent join: {consent.get('ledger_events'):,} events x {consent.get('artifacts'):,} artifacts",
                     f"{consent.get('pipeline_seconds')} s pipeline (+{consent.get('ledger_generation_seconds')} s "
                     f"ledger generation), {_consent_mode(consent)}"])
        rows.append(["consent join: peak RSS per worker process / driver MiB",
                     f"{' / '.join(str(v) for v in consent.get('peak_rss_worker_processes_mib') or []) or 'n/a'}"
                     f" / {consent.get('peak_rss_driver_mib', consent.get('peak_rss_self_mib'))}"])
    validation = results.get("validation_speed") or {}
    if validation:
        rows.append([f"validation: seconds per 100,000 rows (median of {validation.get('rounds')}, "
                     f"{validation.get('rows'):,} rows)",
                     f"{validation.get('seconds_per_100k_rows_median')} s "
                     f"({'passed' if validation.get('validation_passed') else 'FAILED'}), "
                     f"peak RSS {validation.get('peak_rss_mib')} MiB"])
    for name, error in (results.get("errors") or {}).items():
        rows.append([f"{name}: not measured", error])
    return rows


def _fmt(check: TargetCheck) -> str:
    if check.measured is None:
        return "n/a"
    return f"{check.measured:.3g}{check.unit}" if check.unit == "x" else f"{check.measured:,.0f} {check.unit}"


def render_markdown(document: Dict[str, Any]) -> str:
    meta = document["meta"]
    lines = [
        f"Benchmarks of {meta['created_at']} ({'quick' if meta['quick'] else 'full'} run, "
        f"{meta['cores']} cores, load average {meta['load_average_start']} at start, "
        f"{meta['load_average_end']} at end; {meta['note']})",
        "",
        "| Target | Required | Measured | Result |",
        "|---|---|---|---|",
    ]
    for check in document["targets"]:
        result = "n/a" if check["passed"] is None else ("pass" if check["passed"] else "**FAIL**")
        lines.append(f"| {check['name']} | {check['target']} | {_fmt(TargetCheck(**check))} | {result} |")
    lines += ["", "| Figure | Value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in document["figures"]]
    return "\n".join(lines) + "\n"


def build_document(results: Dict[str, Any], meta: Dict[str, Any]) -> Dict[str, Any]:
    return {"meta": meta, "targets": [asdict(c) for c in target_checks(results)],
            "figures": figures(results), "results": results}


def write_reports(document: Dict[str, Any], out_dir: Path, stamp: str) -> Dict[str, Path]:
    """``bench-<stamp>.json``, ``latest.json`` and ``latest.md`` under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    paths = {"json": out_dir / f"bench-{stamp}.json", "latest_json": out_dir / "latest.json",
             "markdown": out_dir / "latest.md"}
    paths["json"].write_text(text, encoding="utf-8")
    paths["latest_json"].write_text(text, encoding="utf-8")
    paths["markdown"].write_text(render_markdown(document), encoding="utf-8")
    return paths


def emit_json(report: dict, out: Optional[Path]) -> None:
    """Print a benchmark's JSON result, and write it to ``out`` when given (for bench.run)."""
    text = json.dumps(report, indent=2)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
