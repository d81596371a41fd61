"""Data Docs render offline and call no one: every asset comes from the run's own folder.

The pages are opened in real headless Chromium with every network scheme blocked; the test
records each request through the DevTools protocol.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from jinja2 import Environment

from expectations.artifacts import write_validation_artifacts
from expectations.model import ValidationReport
from expectations.offline_data_docs import (
    VENDORED_ASSETS,
    OfflineTemplateError,
    OfflineTemplateLoader,
    assert_offline,
    rewrite_template,
)
from expectations.run_level import evaluate_run_level
from expectations.runner import BatchValidator
from expectations.suites import load_suites
from tests.expectations.test_data_docs_and_canary import row
from tests.headless_chromium import Cdp, offline

HOST_REFERENCE = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.I)


def _report() -> ValidationReport:
    validator = BatchValidator(load_suites(["upload", "chat"]))
    uploads = [row(i) for i in range(12)]
    uploads[4] = row(4, speaker="not a pseudonym")
    chats = [row(i, kind="chat", source_format="zoom_chat", artifact_id="c1", segment_id=f"c1:{i:05d}")
             for i in range(5)]
    outcomes = validator.validate_rows("upload", uploads) + validator.validate_rows("chat", chats)
    return ValidationReport.build("r1", outcomes + evaluate_run_level({"run_id": "r1"}, []))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    report = write_validation_artifacts(_report(), run_dir)
    assert report.data_docs_path == "runs/r1/data_docs/index.html"
    return run_dir / "data_docs", report


def test_every_ge_template_loads_without_a_host():
    """Every template GE ships passes through the rewrite; a new CDN address would raise here."""
    loader = OfflineTemplateLoader()
    env = Environment(loader=loader)
    names = loader._packaged.list_templates()
    assert "page.j2" in names and "js_script_imports.j2" in names and "data_docs_default_styles.css" in names
    for name in names:
        source, _, _ = loader.get_source(env, name)
        assert not HOST_REFERENCE.search(source), name
        assert "add_data_context_id_to_url" not in source, name


def test_rewrite_refuses_an_unmapped_host_and_strips_subresource_integrity():
    with pytest.raises(OfflineTemplateError):
        rewrite_template("x.j2", '<script src="https://cdn.example.org/new-lib.js"></script>')
    url = next(iter(VENDORED_ASSETS))
    out = rewrite_template("x.j2", f'<script src="{url}" integrity="sha384-abc" crossorigin="anonymous"></script>')
    assert "integrity" not in out and "crossorigin" not in out and "gk_static_root" in out
    assert_offline("ok.j2", '<a href="../index.html">home</a><svg xmlns="http://www.w3.org/2000/svg"></svg>')


def test_no_page_references_a_host_and_every_local_link_resolves(site):
    docs, _ = site
    pages = sorted(docs.rglob("*.html"))
    assert len(pages) == 1 + 3 + 3  # index, one result page and one suite page per dataset (upload, chat, run)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert not HOST_REFERENCE.search(html), page.relative_to(docs)
        assert "dataContextId" not in html and "great-expectations-web-assets" not in html
        for link in re.findall(r'(?:src|href)="([^"#][^"]*)"', html):
            assert (page.parent / link.split("?")[0]).resolve().is_file(), (page.relative_to(docs), link)
    for vendored in VENDORED_ASSETS.values():
        assert (docs / "static" / "vendor" / vendored).is_file(), vendored
    assert (docs / "static" / "vendor" / "licenses" / "jquery.txt").is_file()


_INDEX_PROBE = """JSON.stringify({
  rows: Array.from(document.querySelectorAll('table tbody tr')).map(tr => tr.innerText),
  jquery: typeof window.jQuery, bootstrapTable: !!(window.jQuery && jQuery.fn.bootstrapTable),
  vega: typeof window.vegaEmbed,
  logo: (() => { const img = document.querySelector('nav img'); return img ? img.naturalWidth : -1; })(),
  bootstrapCss: getComputedStyle(document.querySelector('nav')).position,
})"""
_RESULT_PROBE = """JSON.stringify({
  rows: Array.from(document.querySelectorAll('table tbody tr')).length,
  text: document.body.innerText,
  icons: getComputedStyle(document.querySelector('.fas, .fa') || document.body, '::before').fontFamily,
})"""


def _open(browser: Cdp, page: Path, root: Path, probe: str) -> dict:
    browser.events.clear()
    browser.call("Page.enable")
    browser.call("Runtime.enable")
    browser.call("Log.enable")
    browser.call("Page.navigate", url=page.resolve().as_uri())
    browser.wait_for("Page.loadEventFired")
    time.sleep(0.5)  # bootstrap-table draws the index after load
    result = json.loads(browser.evaluate(probe))
    requested = browser.requested_urls()
    outside = [u for u in requested if not (u.startswith(root.resolve().as_uri() + "/") or u.startswith("data:"))]
    assert outside == [], outside
    assert browser.failed_loads() == [], browser.failed_loads()
    errors = [e for e in browser.events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error")]
    assert errors == [], errors
    result["requested"] = requested
    return result


def check_data_docs_offline(browser: Cdp, docs: Path, report: ValidationReport) -> None:
    offline(browser)
    index = _open(browser, docs / "index.html", docs, _INDEX_PROBE)
    assert index["jquery"] == "function" and index["bootstrapTable"] and index["vega"] == "function"
    assert index["logo"] > 0 and index["bootstrapCss"] == "sticky"
    assert any("/static/vendor/bootstrap/bootstrap.min.css" in u for u in index["requested"])
    datasets = sorted(report.datasets)
    listed = [r for r in index["rows"] if f"\t{report.run_id}\t" in r]  # the validation results table
    assert len(listed) == len(datasets), index["rows"]
    for dataset in datasets:
        assert any(f"gatekeeper_{dataset}" in r for r in listed), dataset
        pages = list((docs / "validations" / f"gatekeeper_{dataset}").rglob("*.html"))
        assert len(pages) == 1
        result = _open(browser, pages[0], docs, _RESULT_PROBE)
        outcomes = [o for o in report.outcomes if o.dataset == dataset]
        assert result["rows"] >= len(outcomes)
        for outcome in outcomes:
            assert outcome.expectation_id in result["text"], (dataset, outcome.expectation_id)
        assert "Font Awesome" in result["icons"]
        suite_page = docs / "expectations" / f"gatekeeper_{dataset}.html"
        _open(browser, suite_page, docs, _RESULT_PROBE)


def test_data_docs_render_offline_in_headless_chromium(site, browser):
    docs, report = site
    check_data_docs_offline(browser, docs, report)


@pytest.mark.slow
def test_data_docs_written_to_gs_render_offline(tmp_path, browser):
    """The same site written through a gs:// run folder (relative links only) renders from a copy."""
    from pipeline.publish import local_folder
    from tests.pipeline.storage_emulator import BUCKET, download_tree, storage_emulator

    report = _report()
    with storage_emulator():
        run_uri = f"gs://{BUCKET}/offline-docs/runs/r1"
        with local_folder(run_uri) as folder:
            write_validation_artifacts(report, folder)
        copy = download_tree(run_uri, tmp_path / "copy")
    check_data_docs_offline(browser, copy / "data_docs", report)
