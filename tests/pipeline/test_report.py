"""HTML run report and index: content, escaping, and rendering in headless Chromium."""
from __future__ import annotations

import base64
import json
import os
import re
import time
from pathlib import Path

import pytest

from expectations.model import ExpectationOutcome, ValidationReport
from pipeline.report import write_index, write_run_report
from tests.headless_chromium import Cdp

KINDS = ("transcript", "chat", "poll", "upload")


def make_manifest(day: int, rows: int, dropped: int, status: str = "published", failures: int = 0):
    run_id = f"202611{day:02d}T020000Z-{day:06x}"
    artifacts = {k: {"ingested": 10 + day, "published": 10 + day - dropped - 1, "dropped": dropped, "dead_lettered": 1} for k in KINDS}
    return {
        "run_id": run_id, "status": status, "exit_code": 0 if status == "published" else 3,
        "run_date": f"2026-11-{day:02d}", "as_of": f"2026-11-{day:02d}T00:00:00Z",
        "started_at": f"2026-11-{day:02d}T02:00:00Z", "finished_at": f"2026-11-{day:02d}T02:10:00Z",
        "input": {"uri_fingerprint": "0" * 64, "files_matched": 50}, "ledger": {"uri_fingerprint": "1" * 64, "events_read": 300, "errors": 0},
        "config_fingerprint": "2" * 64, "versions": {"meeting-gatekeeper": "0.1.0", "great-expectations": "1.24.1"},
        "counts": {
            "artifacts": artifacts,
            "segments": {k: {"parsed": rows + 20, "published": rows, "dropped": 20} for k in KINDS},
            "files": {"parsed": 48, "dead_lettered": 4, "skipped": 2},
            "artifact_drop_reasons": {"no_grant": dropped * 3, "withdrawn": dropped},
            "segment_drop_reasons": {"participant_refused": 50, "unknown_speaker": 30},
            "dead_letter_reasons": {"corrupt": 2, "encrypted": 1, "zip_bomb": 1},
            "skip_reasons": {"undeclared": 2},
            "entities": {"PERSON": rows * 2, "EMAIL_ADDRESS": rows // 3, "PHONE_NUMBER": 7},
        },
        "datasets": {k: {"rows": rows, "files": []} for k in KINDS},
        "validation": {"success": failures == 0, "critical_failures": failures, "warnings": 1,
                       "report": f"runs/{run_id}/validation.json", "data_docs": f"runs/{run_id}/data_docs/index.html"},
        "metrics": {},
    }


CURRENT = "20261108T020000Z-000008"


def failing_report(run_id: str) -> ValidationReport:
    return ValidationReport.build(run_id, [
        ExpectationOutcome("transcript", "pii.no_residual_findings", "expect_column_values_to_be_between", "critical",
                           False, 400, 2, ("a1:00003", "a9:00001")),
        ExpectationOutcome("transcript", "text.not_blank", "expect_column_values_to_match_regex", "critical", True, 400, 0),
        ExpectationOutcome("run", "drift.published_rows", "gatekeeper_drift", "warning", False, 4, 1, ("chat.rows",),
                           "chat.rows=400 mean=100 std=5 n=6"),
        ExpectationOutcome("chat", "<script>alert(1)</script>", "expect_x", "warning", True, 1, 0),
    ])


def build_output(root: Path) -> Path:
    history = [make_manifest(d, rows=100 + 10 * d, dropped=d % 3) for d in range(1, 8)]
    current = make_manifest(8, rows=400, dropped=5, status="quarantined", failures=1)
    quarantined = root / "_quarantine" / current["run_id"] / "runs" / current["run_id"]
    for m in history + [current]:
        run_dir = quarantined if m is current else root / "runs" / m["run_id"]
        run_dir.mkdir(parents=True)
        (run_dir / "manifest.json").write_text(json.dumps(m))
    for m in history:
        write_run_report(root / "runs" / m["run_id"], m, ValidationReport.build(m["run_id"], []), history)
    report_path = write_run_report(str(quarantined), current, failing_report(current["run_id"]).to_dict(), history)
    return report_path


def test_run_report_content_is_escaped_and_self_contained(tmp_path):
    report_path = build_output(tmp_path)
    page = report_path.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "a1:00003" in page and "pii.no_residual_findings" in page and "chat.rows=400" in page
    # failed critical first, then warnings, then passes
    assert page.index("pii.no_residual_findings") < page.index("drift.published_rows") < page.index("text.not_blank")
    for reason in ("no_grant", "participant_refused", "zip_bomb", "EMAIL_ADDRESS"):
        assert reason in page
    assert page.count("<svg") == 7  # 4 bar charts + 3 trend charts
    first_run = make_manifest(1, rows=0, dropped=0)["run_id"]
    docs = tmp_path / "runs" / first_run / "data_docs" / "index.html"
    docs.parent.mkdir(parents=True)
    docs.write_text("<html></html>")
    index = Path(write_index(tmp_path)).read_text()
    assert index.count("report.html") == 8
    assert index.count("data_docs/index.html") == 1 and f'href="runs/{first_run}/data_docs/index.html"' in index
    assert f'href="_quarantine/{CURRENT}/runs/{CURRENT}/report.html"' in index
    assert "quarantined" in index and index.count("<svg") == 3


# ---------------------------------------------------------------- headless Chromium via CDP
# (the ``browser`` fixture is in tests/conftest.py)

_CHART_PROBE = """
(() => {
  const charts = Array.from(document.querySelectorAll('svg.chart'));
  return JSON.stringify(charts.map(svg => {
    const box = svg.getBoundingClientRect();
    const marks = Array.from(svg.querySelectorAll('rect, path, circle')).filter(el => {
      const b = el.getBBox(); return (b.width > 0 && b.height > 0) || (el.tagName === 'path' && b.width > 0);
    });
    return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height, marks: marks.length};
  }));
})()
"""


def _open_and_check(browser: Cdp, page: Path, shot_name: str, shot_dir: Path) -> list[dict]:
    browser.call("Runtime.enable")
    browser.call("Log.enable")
    browser.call("Page.enable")
    browser.call("Page.navigate", url=page.resolve().as_uri())
    browser.wait_for("Page.loadEventFired")
    time.sleep(0.3)
    charts = json.loads(browser.call("Runtime.evaluate", expression=_CHART_PROBE, returnByValue=True)["result"]["value"])
    errors = [e for e in browser.events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") == "error")
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error")]
    assert errors == [], errors
    shot = base64.b64decode(browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
    assert shot.startswith(b"\x89PNG") and len(shot) > 10_000
    targets = [shot_dir] + ([Path(os.environ["GATEKEEPER_SCREENSHOT_DIR"])] if os.environ.get("GATEKEEPER_SCREENSHOT_DIR") else [])
    for target in targets:
        target.mkdir(parents=True, exist_ok=True)
        (target / shot_name).write_bytes(shot)
    browser.events.clear()
    return charts


def test_report_and_index_render_in_headless_chromium(tmp_path, browser):
    report_path = build_output(tmp_path / "OUTPUT")
    index_path = Path(write_index(tmp_path / "OUTPUT"))
    charts = _open_and_check(browser, report_path, "run-report.png", tmp_path)
    assert len(charts) == 7
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 20, chart
        assert chart["marks"] > 0, chart
    trend = next(c for c in charts if c["label"] == "Published rows per run")
    assert trend["marks"] >= 8 + 1  # one point per run, plus the line
    index_charts = _open_and_check(browser, index_path, "index.png", tmp_path)
    assert len(index_charts) == 3 and all(c["marks"] > 8 for c in index_charts)
    assert (tmp_path / "run-report.png").stat().st_size > 10_000
