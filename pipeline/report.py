"""Self-contained HTML run reports and the index across runs.

``write_run_report`` writes ``runs/<run_id>/report.html``; ``write_index`` writes
``OUTPUT/index.html``. Pages use inline CSS and inline SVG charts generated
here: no scripts, no fonts, nothing fetched when a page opens. Every value that
comes from a manifest or a validation report is HTML-escaped. Reports show ids,
codes and counts only; they never read dataset rows.
"""
from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from expectations.model import ValidationReport
from pipeline.publish import list_files, read_text, relative_to, write_text

TREND_RUNS = 20
_PALETTE = ("#2f6f9f", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6", "#7f7f7f")

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1d2733;background:#fff}
h1{font-size:1.5em;margin:0 0 4px} h3{font-size:1em;margin:16px 0 6px} summary{cursor:pointer;margin:10px 0;color:#2f6f9f} h2{font-size:1.15em;margin:28px 0 8px;border-bottom:1px solid #dde3ea;padding-bottom:4px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:.9em} th,td{border:1px solid #dde3ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f6f9} td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;color:#fff}
.published,.passed{background:#2e7d32} .quarantined,.failed{background:#c62828} .other{background:#6d6d6d}
.critical{color:#c62828;font-weight:600} .warning{color:#a66300;font-weight:600} .ok{color:#2e7d32}
.charts{display:flex;flex-wrap:wrap;gap:18px} figure{margin:0} figcaption{font-size:.85em;color:#52606d;margin-bottom:2px}
.ids{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all} .muted{color:#6b7785}
"""

Number = Union[int, float]


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any) -> Number:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else 0


def _fmt(value: Number) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3g}"
    return f"{int(value):,}"


# ---------------------------------------------------------------- SVG charts


def svg_bar_chart(items: Sequence[Tuple[str, Number]], title: str, width: int = 440, color: str = _PALETTE[0]) -> str:
    """Horizontal bars, one per (label, value); an explicit 'none' row when empty."""
    rows = [(str(k), _num(v)) for k, v in items]
    label_w, bar_h, gap, top = 170, 16, 6, 8
    height = top * 2 + max(1, len(rows)) * (bar_h + gap)
    parts = [f'<svg class="chart bar-chart" role="img" aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    parts.append(f"<title>{_e(title)}</title>")
    if not rows:
        parts.append(f'<text x="8" y="{top + bar_h - 4}" font-size="12" fill="#6b7785">none</text></svg>')
        return "".join(parts)
    peak = max(v for _, v in rows) or 1
    span = width - label_w - 60
    for i, (label, value) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = max(1.0, span * value / peak) if value > 0 else 0.0
        short = label if len(label) <= 26 else label[:25] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h - 4}" font-size="11" text-anchor="end" fill="#1d2733">{_e(short)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}"><title>{_e(label)}: {_e(_fmt(value))}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}" font-size="11" fill="#1d2733">{_e(_fmt(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_line_chart(labels: Sequence[str], series: Mapping[str, Sequence[Optional[Number]]], title: str,
                   width: int = 440, height: int = 200) -> str:
    """A line per series over the runs in ``labels`` (oldest first); points marked."""
    left, right, top, bottom = 52, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for vs in series.values() for v in vs if v is not None]
    parts = [f'<svg class="chart line-chart" role="img" aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}"><title>{_e(title)}</title>']
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafbfc" stroke="#dde3ea"/>')
    if not labels or not values:
        parts.append(f'<text x="{left + 8}" y="{top + 20}" font-size="12" fill="#6b7785">no runs yet</text></svg>')
        return "".join(parts)
    low, high = min(0.0, min(values)), max(values)
    high = high if high > low else low + 1
    n = len(labels)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(v: Number) -> float:
        return top + plot_h - plot_h * (v - low) / (high - low)

    for tick in (low, (low + high) / 2, high):
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e6eaee"/>')
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" font-size="10" text-anchor="end" fill="#52606d">{_e(_fmt(tick))}</text>')
    step = max(1, math.ceil(n / 6))
    for i, label in enumerate(labels):
        if (i % step == 0 and n - 1 - i >= step) or i == n - 1:
            short = label if len(label) <= 12 else label[:11] + "…"
            parts.append(f'<text x="{x(i):.1f}" y="{height - 18}" font-size="9" text-anchor="middle" fill="#52606d">{_e(short)}</text>')
    for s_index, (name, vs) in enumerate(series.items()):
        color = _PALETTE[s_index % len(_PALETTE)]
        points = [(x(i), y(v), v, labels[i]) for i, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            d = " ".join(f"{'M' if k == 0 else 'L'}{px:.1f},{py:.1f}" for k, (px, py, _, _) in enumerate(points))
            parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
        for px, py, v, label in points:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"><title>{_e(name)} {_e(label)}: {_e(_fmt(v))}</title></circle>')
        parts.append(f'<rect x="{left + 6 + s_index * 110}" y="{height - 11}" width="10" height="8" fill="{color}"/>'
                     f'<text x="{left + 20 + s_index * 110}" y="{height - 3}" font-size="10" fill="#1d2733">{_e(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------- manifest helpers


def _counts(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    counts = manifest.get("counts")
    return counts if isinstance(counts, Mapping) else {}


def _reason_items(mapping: Any) -> List[Tuple[str, Number]]:
    if not isinstance(mapping, Mapping):
        return []
    return sorted(((str(k), _num(v)) for k, v in mapping.items()), key=lambda kv: (-kv[1], kv[0]))


def published_rows(manifest: Mapping[str, Any]) -> int:
    datasets = manifest.get("datasets") if isinstance(manifest.get("datasets"), Mapping) else {}
    return int(sum(_num((d or {}).get("rows")) for name, d in datasets.items()
                   if name not in ("audit", "dead_letter") and isinstance(d, Mapping)))


def drop_rate(manifest: Mapping[str, Any]) -> Optional[float]:
    artifacts = _counts(manifest).get("artifacts") or {}
    ingested = sum(_num((r or {}).get("ingested")) for r in artifacts.values() if isinstance(r, Mapping))
    dropped = sum(_num((r or {}).get("dropped")) for r in artifacts.values() if isinstance(r, Mapping))
    return dropped / ingested if ingested else None


def redaction_density(manifest: Mapping[str, Any]) -> Optional[float]:
    """Entities redacted per published row (the rate shown in trends)."""
    entities = sum(_num(v) for v in (_counts(manifest).get("entities") or {}).values())
    rows = published_rows(manifest)
    return entities / rows if rows else None


def _status_class(status: Any) -> str:
    return str(status) if status in ("published", "quarantined", "failed") else "other"


def _trend_charts(manifests: Sequence[Mapping[str, Any]]) -> str:
    recent = list(manifests)[-TREND_RUNS:]
    labels = [str(m.get("run_date") or m.get("run_id", "")) for m in recent]
    charts = [
        svg_line_chart(labels, {"published rows": [published_rows(m) for m in recent]}, "Published rows per run"),
        svg_line_chart(labels, {"artifact drop rate": [drop_rate(m) for m in recent]}, "Artifact drop rate per run"),
        svg_line_chart(labels, {"entities per row": [redaction_density(m) for m in recent]}, "Redaction density per run"),
    ]
    captions = ("Published rows", "Artifact drop rate", "Entities redacted per published row")
    return '<div class="charts">' + "".join(
        f"<figure><figcaption>{_e(c)} (last {len(recent)} runs)</figcaption>{svg}</figure>" for c, svg in zip(captions, charts)
    ) + "</div>"


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n")


def _artifact_table(manifest: Mapping[str, Any]) -> str:
    artifacts = _counts(manifest).get("artifacts") or {}
    segments = _counts(manifest).get("segments") or {}
    head = ("<tr><th>kind</th><th>artifacts in</th><th>published</th><th>dropped</th><th>dead-lettered</th>"
            "<th>segments parsed</th><th>segments published</th><th>segments dropped</th></tr>")
    rows = []
    totals = [0] * 7
    for kind in sorted(set(artifacts) | set(segments)):
        a = artifacts.get(kind) if isinstance(artifacts.get(kind), Mapping) else {}
        s = segments.get(kind) if isinstance(segments.get(kind), Mapping) else {}
        values = [_num(a.get("ingested")), _num(a.get("published")), _num(a.get("dropped")), _num(a.get("dead_lettered")),
                  _num(s.get("parsed")), _num(s.get("published")), _num(s.get("dropped"))]
        totals = [t + v for t, v in zip(totals, values)]
        rows.append(f"<tr><td>{_e(kind)}</td>" + "".join(f'<td class="num">{_fmt(v)}</td>' for v in values) + "</tr>")
    rows.append("<tr><th>total</th>" + "".join(f'<th class="num">{_fmt(v)}</th>' for v in totals) + "</tr>")
    return f'<table class="artifacts">{head}{"".join(rows)}</table>'


def _dataset_doc_links(run_dir: Path) -> Dict[str, str]:
    """{dataset: href} of each dataset's Data Docs validation page, relative to the run folder."""
    links: Dict[str, str] = {}
    root = run_dir / "data_docs" / "validations"
    for page in sorted(root.glob("gatekeeper_*/**/*.html")):
        suite_folder = page.relative_to(root).parts[0]
        links[suite_folder[len("gatekeeper_"):]] = page.relative_to(run_dir).as_posix()
    return links


def _outcome_rows(outcomes: Sequence[Any], docs_href: Optional[str], dataset_links: Mapping[str, str]) -> str:
    rows = []
    for o in outcomes:
        state = "ok" if o.success else o.severity
        label = "passed" if o.success else ("FAILED" if o.severity == "critical" else "warning")
        href = dataset_links.get(o.dataset) or docs_href
        dataset_cell = f'<a href="{_e(href)}">{_e(o.dataset)}</a>' if href else _e(o.dataset)
        rows.append(
            f'<tr class="outcome {state}"><td class="{state}">{label}</td><td>{_e(o.severity)}</td><td>{dataset_cell}</td>'
            f"<td>{_e(o.expectation_id)}<br><span class=\"muted\">{_e(o.expectation_type)}</span></td>"
            f'<td class="num">{_fmt(o.unexpected_count)}</td><td class="num">{_fmt(o.element_count)}</td>'
            f'<td class="ids">{_e(", ".join(o.sample_row_ids))}</td><td>{_e(o.detail)}</td></tr>'
        )
    return ("<table class=\"validation\"><tr><th>result</th><th>severity</th><th>dataset</th><th>expectation</th>"
            "<th>unexpected</th><th>checked</th><th>sample row ids</th><th>detail</th></tr>" + "".join(rows) + "</table>")


def _dataset_summary(report: ValidationReport, docs_href: Optional[str], dataset_links: Mapping[str, str]) -> str:
    rows = []
    for dataset in report.datasets:
        outcomes = [o for o in report.outcomes if o.dataset == dataset]
        critical = sum(1 for o in outcomes if o.is_critical_failure)
        warnings = sum(1 for o in outcomes if o.is_warning)
        checked = max((o.element_count for o in outcomes), default=0)
        state = "failed" if critical else "passed"
        href = dataset_links.get(dataset) or docs_href
        link = f'<a href="{_e(href)}">data docs</a>' if href else '<span class="muted">no data docs</span>'
        rows.append(
            f'<tr><td>{_e(dataset)}</td><td><span class="status {state}">{state}</span></td>'
            f'<td class="num">{len(outcomes)}</td><td class="num critical">{critical or ""}</td>'
            f'<td class="num warning">{warnings or ""}</td><td class="num">{_fmt(checked)}</td><td>{link}</td></tr>'
        )
    return ("<table class=\"datasets\"><tr><th>dataset</th><th>result</th><th>expectations</th><th>critical failures</th>"
            "<th>warnings</th><th>rows checked</th><th>details</th></tr>" + "".join(rows) + "</table>")


def _validation_section(report: ValidationReport, docs_href: Optional[str], dataset_links: Mapping[str, str]) -> str:
    status = "passed" if report.success else "failed"
    link = f' — <a href="{_e(docs_href)}">Great Expectations Data Docs</a>' if docs_href else ""
    head = (f'<p><span class="status {status}">{status}</span> {len(report.critical_failures)} critical failure(s), '
            f"{len(report.warnings)} warning(s), {len(report.outcomes)} expectation result(s){link}</p>")
    problems = list(report.critical_failures) + list(report.warnings)
    problem_html = (_outcome_rows(problems, docs_href, dataset_links) if problems
                    else '<p class="ok">Every expectation passed.</p>')
    ordered = sorted(report.outcomes, key=lambda o: (o.success, o.severity != "critical", o.dataset, o.expectation_id))
    return (head + _dataset_summary(report, docs_href, dataset_links)
            + "<h3>Failures and warnings</h3>" + problem_html
            + f"<details><summary>All {len(ordered)} expectation results</summary>"
            + _outcome_rows(ordered, docs_href, dataset_links) + "</details>")


def _as_report(validation: Union[ValidationReport, Mapping[str, Any], None], run_id: str) -> ValidationReport:
    if isinstance(validation, ValidationReport):
        return validation
    if isinstance(validation, Mapping) and "outcomes" in validation:
        return ValidationReport.from_dict(validation)
    return ValidationReport(run_id=run_id, success=True, outcomes=())


def _docs_href(run_dir: Path) -> Optional[str]:
    """The run's Data Docs index, linked only when it exists next to the report."""
    return "data_docs/index.html" if (run_dir / "data_docs" / "index.html").is_file() else None


def _index_href(status: Any) -> str:
    """OUTPUT/index.html seen from where the run folder ends up: runs/<id>/ when
    published, _quarantine/<id>/runs/<id>/ otherwise (the report is written while
    the run is still staged at that same depth)."""
    return "../../index.html" if status == "published" else "../../../../index.html"


def write_run_report(run_dir: Path, manifest: Mapping[str, Any],
                     validation: Union[ValidationReport, Mapping[str, Any], None],
                     history: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``run_dir/report.html``; ``history`` holds earlier manifests (any order)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    run_id = str(manifest.get("run_id", run_dir.name))
    report = _as_report(validation, run_id)
    counts = _counts(manifest)
    status = manifest.get("status", "unknown")
    runs = _ordered_runs([m for m in history if m.get("run_id") != run_id] + [dict(manifest)])
    files = counts.get("files") if isinstance(counts.get("files"), Mapping) else {}
    body = [
        f"<h1>meeting-gatekeeper run {_e(run_id)}</h1>",
        f'<p><span class="status {_status_class(status)}">{_e(status)}</span> exit code {_e(manifest.get("exit_code"))} · '
        f'run date {_e(manifest.get("run_date"))} · started {_e(manifest.get("started_at"))} · '
        f'finished {_e(manifest.get("finished_at"))} · <a href="{_index_href(status)}">all runs</a></p>',
        f'<p class="muted">files parsed {_e(_fmt(_num(files.get("parsed"))))}, dead-lettered '
        f'{_e(_fmt(_num(files.get("dead_lettered"))))}, skipped {_e(_fmt(_num(files.get("skipped"))))} · '
        f'published rows {_e(_fmt(published_rows(manifest)))}</p>',
        "<h2>Artifacts and segments</h2>", _artifact_table(manifest),
        "<h2>What was stopped, and why</h2><div class=\"charts\">",
        f"<figure><figcaption>Artifacts dropped by reason</figcaption>{svg_bar_chart(_reason_items(counts.get('artifact_drop_reasons')), 'Artifacts dropped by reason', color=_PALETTE[1])}</figure>",
        f"<figure><figcaption>Segments dropped by reason</figcaption>{svg_bar_chart(_reason_items(counts.get('segment_drop_reasons')), 'Segments dropped by reason', color=_PALETTE[4])}</figure>",
        f"<figure><figcaption>Dead letters by reason</figcaption>{svg_bar_chart(_reason_items(counts.get('dead_letter_reasons')), 'Dead letters by reason', color=_PALETTE[3])}</figure>",
        f"<figure><figcaption>Entities redacted by type</figcaption>{svg_bar_chart(_reason_items(counts.get('entities')), 'Entities redacted by type', color=_PALETTE[0])}</figure>",
        "</div>",
        "<h2>Validation</h2>", _validation_section(report, _docs_href(run_dir), _dataset_doc_links(run_dir)),
        "<h2>Trends</h2>", _trend_charts(runs),
        f'<p class="muted">versions: {_e(", ".join(f"{k} {v}" for k, v in sorted((manifest.get("versions") or {}).items())))}</p>',
    ]
    path = run_dir / "report.html"
    path.write_text(_page(f"gatekeeper run {run_id}", "".join(body)), encoding="utf-8")
    return path


def _ordered_runs(manifests: Iterable[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    return sorted(manifests, key=lambda m: (str(m.get("started_at", "")), str(m.get("run_id", ""))))


def load_manifests(output_dir: Union[str, Path]) -> List[Dict[str, Any]]:
    """Every readable run manifest under OUTPUT (local or ``gs://``), oldest first: published
    runs (``runs/*/manifest.json``) and quarantined ones (``_quarantine/*/runs/*/manifest.json``).
    Each gets ``_run_dir``: its folder relative to OUTPUT."""
    root = str(output_dir).rstrip("/")
    manifests = []
    found = list_files(f"{root}/runs/*/manifest.json") + list_files(f"{root}/_quarantine/*/runs/*/manifest.json")
    seen = set()
    for meta in found:
        try:
            manifest = json.loads(read_text(meta.path) or "")
        except (OSError, ValueError):
            continue
        if not isinstance(manifest, dict):
            continue
        run_dir = relative_to(root, meta.path).rsplit("/", 1)[0]
        manifest.setdefault("run_id", run_dir.rsplit("/", 1)[-1])
        if manifest["run_id"] in seen:
            continue
        seen.add(manifest["run_id"])
        manifest["_run_dir"] = run_dir
        manifests.append(manifest)
    return _ordered_runs(manifests)


def write_index(output_dir: Union[str, Path]) -> str:
    """Write ``OUTPUT/index.html``: a table of runs (newest first) and trend charts. Returns its path."""
    root = str(output_dir).rstrip("/")
    manifests = load_manifests(root)
    # One listing per kind of page instead of an existence check per run (each is a request on gs://).
    pages = {relative_to(root, m.path) for prefix in ("runs/*", "_quarantine/*/runs/*")
             for page in ("report.html", "data_docs/index.html") for m in list_files(f"{root}/{prefix}/{page}")}
    rows = []
    for m in reversed(manifests):
        run_dir = str(m.get("_run_dir"))
        validation = m.get("validation") if isinstance(m.get("validation"), Mapping) else {}
        artifacts = _counts(m).get("artifacts") or {}
        ingested = sum(_num((r or {}).get("ingested")) for r in artifacts.values() if isinstance(r, Mapping))
        dropped = sum(_num((r or {}).get("dropped")) for r in artifacts.values() if isinstance(r, Mapping))
        dead = sum(_num((r or {}).get("dead_lettered")) for r in artifacts.values() if isinstance(r, Mapping))
        report_link = (f'<a href="{_e(run_dir)}/report.html">report</a>' if f"{run_dir}/report.html" in pages
                       else '<span class="muted">no report</span>')
        docs_link = (f' · <a href="{_e(run_dir)}/data_docs/index.html">data docs</a>'
                     if f"{run_dir}/data_docs/index.html" in pages else "")
        status = m.get("status", "unknown")
        rows.append(
            f'<tr><td>{_e(m.get("run_id"))}</td><td>{_e(m.get("run_date"))}</td>'
            f'<td><span class="status {_status_class(status)}">{_e(status)}</span></td><td class="num">{_e(m.get("exit_code"))}</td>'
            f'<td class="num">{_fmt(ingested)}</td><td class="num">{_fmt(published_rows(m))}</td><td class="num">{_fmt(dropped)}</td>'
            f'<td class="num">{_fmt(dead)}</td><td class="num">{_e(validation.get("critical_failures", ""))}</td>'
            f'<td class="num">{_e(validation.get("warnings", ""))}</td><td>{report_link}{docs_link}</td></tr>'
        )
    table = ("<table class=\"runs\"><tr><th>run</th><th>run date</th><th>status</th><th>exit</th><th>artifacts in</th>"
             "<th>rows published</th><th>artifacts dropped</th><th>dead-lettered</th><th>critical</th><th>warnings</th>"
             "<th>links</th></tr>" + "".join(rows) + "</table>")
    body = (f"<h1>meeting-gatekeeper runs</h1><p class=\"muted\">{len(manifests)} run(s)</p>"
            f"<h2>Trends</h2>{_trend_charts(manifests)}<h2>Runs</h2>{table}")
    path = f"{root}/index.html"
    write_text(path, _page("gatekeeper runs", body))
    return path
