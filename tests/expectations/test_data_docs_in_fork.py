"""Data Docs built in a fork of the warm server (``run_module``), as the CLI does with worker
processes: the same site, no GE import in the calling process; a runner that cannot run the
builder means an in-process build, a builder that fails means no docs (the gate is unaffected)."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from expectations.artifacts import write_validation_artifacts
from expectations.model import ExpectationOutcome, ValidationReport

REPO = Path(__file__).resolve().parents[2]
RUN_TIME = dt.datetime(2026, 6, 1, 2, 30, tzinfo=dt.timezone.utc)


def _report() -> ValidationReport:
    return ValidationReport.build("r7", [
        ExpectationOutcome("transcript", "pii.speaker_is_pseudonym", "expect_column_values_to_match_regex",
                           "critical", False, 10, 1, ("m1:a1:00004",), ""),
        ExpectationOutcome("transcript", "schema.row_count", "expect_table_row_count_to_be_between",
                           "critical", True, 10, 0, (), ""),
    ])


def _pages(site: Path) -> dict:
    return {str(p.relative_to(site)): p for p in site.rglob("*.html")}


@pytest.mark.slow
def test_forked_builder_writes_the_site_without_ge_in_the_caller(tmp_path):
    report_file = tmp_path / "report.json"
    report_file.write_text(_report().to_json(), encoding="utf-8")
    driver = textwrap.dedent("""
        import datetime, json, sys
        from pathlib import Path
        from expectations.artifacts import write_validation_artifacts
        from expectations.model import ValidationReport
        from pipeline.forked_workers import WorkerForkServer
        report = ValidationReport.from_dict(json.loads(Path(sys.argv[1]).read_text()))
        with WorkerForkServer(preload=("great_expectations",)) as server:
            final = write_validation_artifacts(report, sys.argv[2], run_module=server.run_module,
                                               run_time=datetime.datetime.fromisoformat(sys.argv[3]))
        print(json.dumps({"docs": final.data_docs_path, "ge_in_caller": "great_expectations" in sys.modules}))
    """)
    done = subprocess.run([sys.executable, "-c", driver, str(report_file), str(tmp_path / "forked"),
                           RUN_TIME.isoformat()],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"docs": "runs/r7/data_docs/index.html", "ge_in_caller": False}

    here = write_validation_artifacts(_report(), tmp_path / "here", run_time=RUN_TIME)  # in process
    forked_pages, here_pages = _pages(tmp_path / "forked" / "data_docs"), _pages(tmp_path / "here" / "data_docs")
    assert sorted(forked_pages) == sorted(here_pages) and len(here_pages) >= 2
    assert any("20260601T023000" in name for name in forked_pages)   # the run time went across
    assert here.data_docs_path == seen["docs"]
    page = "".join(p.read_text(encoding="utf-8") for p in forked_pages.values())
    assert "pii.speaker_is_pseudonym" in page and "m1:a1:00004" in page


def test_a_runner_that_cannot_run_the_builder_means_an_in_process_build(tmp_path):
    calls = []

    def cannot(module, argv):
        calls.append((module, list(argv)))
        return None

    final = write_validation_artifacts(_report(), tmp_path, run_module=cannot)
    assert calls and calls[0][0] == "expectations.data_docs"
    assert final.data_docs_path == "runs/r7/data_docs/index.html"
    assert (tmp_path / "data_docs" / "index.html").is_file()


def test_a_failing_builder_means_no_docs_and_an_unchanged_gate(tmp_path, caplog):
    final = write_validation_artifacts(_report(), tmp_path, run_module=lambda module, argv: 1)
    assert final.data_docs_path is None
    assert final.success is False                       # the gate is the report's, not the docs'
    assert not (tmp_path / "data_docs" / "index.html").exists()
    assert "data docs not written (RuntimeError)" in caplog.text
    assert json.loads((tmp_path / "validation.json").read_text())["success"] is False


def test_the_builder_module_reports_errors_by_class_name_only(tmp_path):
    bad = tmp_path / "validation.json"
    bad.write_text('{"run_id": "r1", "outcomes": [{"dataset": "zz.canary.7731@example.net"}]}')
    done = subprocess.run([sys.executable, "-m", "expectations.data_docs", str(bad), str(tmp_path / "site")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == "gatekeeper: data docs not built (KeyError)"
