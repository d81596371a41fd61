"""Great Expectations Data Docs for one run, built from sanitized results.

The Data Docs site is built by GE itself (file-backed context in a temporary
project, a ``SiteBuilder`` whose store points at ``runs/<run_id>/data_docs/``,
``build_data_docs``). What goes into it is not GE's raw batch results, which
hold offending values, but one ``ExpectationSuiteValidationResult`` per
dataset rebuilt from the merged ``ExpectationOutcome``s: expectation type,
kwargs from the suite file, severity, element and unexpected counts, and row
ids. No row content can reach the page. The pages render offline: every asset GE's templates
would load from a CDN is served from the site's own ``static/vendor/``
(``expectations.offline_data_docs``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from expectations.model import ExpectationOutcome, ValidationReport
from expectations.suites import RUN_SUITE, Suite, load_run_suite, load_suites
from transforms.schemas import DATASET_SCHEMAS

log = logging.getLogger(__name__)
SITE_NAME = "gatekeeper_run"
# runs ``python -m MODULE ARGV...`` somewhere; its exit status, or None if it could not
ModuleRunner = Callable[[str, Sequence[str]], Optional[int]]


def _kwargs_for(outcome: ExpectationOutcome, suites: Mapping[str, Suite]) -> Dict[str, Any]:
    suite = suites.get(outcome.dataset)
    if suite is not None:
        for spec in suite.expectations:
            if spec.expectation_id == outcome.expectation_id:
                return dict(spec.kwargs)
    return {}


def _description(outcome: ExpectationOutcome) -> str:
    text = f"{outcome.expectation_id} [{outcome.severity}]: {outcome.unexpected_count} unexpected of {outcome.element_count}"
    if outcome.sample_row_ids:
        text += f"; sample row ids: {', '.join(outcome.sample_row_ids)}"
    if outcome.detail:
        text += f"; {outcome.detail}"
    return text


def _configuration(outcome: ExpectationOutcome, suites: Mapping[str, Suite]):
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    import expectations.ge_custom  # noqa: F401  registers expect_gatekeeper_check

    kwargs = _kwargs_for(outcome, suites)
    expectation_type = outcome.expectation_type
    if not expectation_type.startswith("expect_"):
        kwargs = {
            "check": expectation_type,
            **{k: str(kwargs[k]) for k in ("column", "metric") if k in kwargs},
        }
        expectation_type = "expect_gatekeeper_check"
    return ExpectationConfiguration(
        type=expectation_type,
        kwargs=kwargs,
        description=_description(outcome),
        meta={
            "gatekeeper_id": outcome.expectation_id,
            "severity": outcome.severity,
            "sample_row_ids": list(outcome.sample_row_ids),
            "detail": outcome.detail,
        },
    )


def _evr(config, outcome: ExpectationOutcome):
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

    percent = 100.0 * outcome.unexpected_count / outcome.element_count if outcome.element_count else 0.0
    result = {
        "element_count": outcome.element_count,
        "unexpected_count": outcome.unexpected_count,
        "unexpected_percent": percent,
        "partial_unexpected_list": [],
        "observed_value": f"{outcome.unexpected_count} unexpected of {outcome.element_count}",
    }
    return ExpectationValidationResult(success=outcome.success, expectation_config=config, result=result)


def _suites_for(report: ValidationReport, suites_dir: Optional[str]) -> Dict[str, Suite]:
    suites: Dict[str, Suite] = {}
    try:
        suites.update(load_suites([d for d in report.datasets if d in DATASET_SCHEMAS], suites_dir))
        if RUN_SUITE in report.datasets:
            suites[RUN_SUITE] = load_run_suite(suites_dir)
    except ValueError:
        log.warning("data docs: suite kwargs unavailable (SuiteError)")
    return suites


def write_data_docs(
    report: ValidationReport,
    out_dir: str | Path,
    suites_dir: Optional[str] = None,
    run_time: Optional[dt.datetime] = None,
    run_module: Optional[ModuleRunner] = None,
) -> str:
    """Build the run's Data Docs into ``out_dir``; returns the path of its index.html (a str).

    ``run_module``: build them with ``python -m expectations.data_docs`` through this runner
    (the local fork server, whose forks have GE imported) rather than in this process; when it
    returns None (could not run it), they are built here.
    """
    run_time = run_time or dt.datetime.now(dt.timezone.utc)
    out = Path(out_dir).resolve()
    if run_module is not None:
        with tempfile.TemporaryDirectory(prefix="gk-docs-") as folder:
            report_file = Path(folder) / "validation.json"
            report_file.write_text(report.to_json(), encoding="utf-8")
            argv = [str(report_file), str(out), "--run-time", run_time.isoformat()]
            status = run_module(__name__, argv + (["--suites-dir", suites_dir] if suites_dir else []))
        if status is not None:
            if status != 0:
                raise RuntimeError(f"data docs builder exited with status {status}")
            return _index_of(out)
    return _build(report, out, suites_dir, run_time)


def _index_of(out: Path) -> str:
    index = out / "index.html"
    if not index.is_file():
        raise RuntimeError("data docs index was not written")
    return str(index)


def _build(report: ValidationReport, out: Path, suites_dir: Optional[str], run_time: dt.datetime) -> str:
    from expectations.runner import _ge

    gx = _ge()
    from expectations.offline_data_docs import copy_vendored_assets, offline_site_config
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    out.mkdir(parents=True, exist_ok=True)
    suites = _suites_for(report, suites_dir)
    project = tempfile.mkdtemp(prefix="gk-gx-")
    try:
        context = gx.get_context(mode="file", project_root_dir=project)
        context.add_data_docs_site(site_name=SITE_NAME, site_config=offline_site_config(str(out)))
        run_identifier = RunIdentifier(run_name=report.run_id, run_time=run_time)
        for dataset in report.datasets:
            outcomes = [o for o in report.outcomes if o.dataset == dataset]
            configs = [_configuration(o, suites) for o in outcomes]
            results: List[Any] = [_evr(c, o) for c, o in zip(configs, outcomes)]
            passed = sum(1 for o in outcomes if o.success)
            suite_name = f"gatekeeper_{dataset}"
            # the suite's own page (the index and every result page link to it)
            suite = gx.ExpectationSuite(name=suite_name)
            for config in configs:
                suite.add_expectation_configuration(config)
            context.suites.add(suite)
            validation = ExpectationSuiteValidationResult(
                success=not any(o.is_critical_failure for o in outcomes),
                results=results,
                suite_name=suite_name,
                statistics={
                    "evaluated_expectations": len(outcomes),
                    "successful_expectations": passed,
                    "unsuccessful_expectations": len(outcomes) - passed,
                    "success_percent": 100.0 * passed / len(outcomes) if outcomes else 100.0,
                },
                meta={
                    "run_id": run_identifier,
                    "validation_time": run_time.strftime("%Y%m%dT%H%M%S.%fZ"),
                    "active_batch_definition": {"datasource_name": "gatekeeper", "data_asset_name": dataset},
                    "batch_markers": {},
                    "batch_spec": {},
                    "great_expectations_version": gx.__version__,
                },
            )
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
                run_id=run_identifier,
                batch_identifier=dataset,
            )
            context.validation_results_store.set(key, validation)
        context.build_data_docs(site_names=[SITE_NAME])
        copy_vendored_assets(out)
    finally:
        shutil.rmtree(project, ignore_errors=True)
    return _index_of(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m expectations.data_docs VALIDATION_JSON OUT_DIR [--suites-dir D] [--run-time ISO]``.

    Errors are reported by class name only (as everywhere a report's content could leak).
    """
    parser = argparse.ArgumentParser(prog="python -m expectations.data_docs", description=main.__doc__)
    parser.add_argument("validation_json", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--suites-dir")
    parser.add_argument("--run-time", type=dt.datetime.fromisoformat)
    args = parser.parse_args(argv)
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    try:
        report = ValidationReport.from_dict(json.loads(args.validation_json.read_text(encoding="utf-8")))
        write_data_docs(report, args.out_dir, args.suites_dir, args.run_time)
    except Exception as exc:  # noqa: BLE001 - the class name only, never the content
        print(f"gatekeeper: data docs not built ({type(exc).__name__})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
