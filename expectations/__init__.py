"""Expectation suites (``expectations/suites/*.json``) and the code that runs them.

* ``model``: ExpectationOutcome / ValidationReport (ids and counts only).
* ``suites``: loading the version-controlled suite files.
* ``derived``: per-row ``_gk_*`` columns and bounded pandas frames.
* ``runner``: GE 1.x on one batch (BatchValidator) and the cross-batch checks.
* ``run_level``: conservation and drift from run manifests.
* ``data_docs`` / ``artifacts``: GE Data Docs and validation.json per run.
"""
from expectations.model import (  # noqa: F401
    CRITICAL,
    WARNING,
    ExpectationOutcome,
    ValidationReport,
    merge_outcomes,
    merge_reports,
)
from expectations.run_level import evaluate_run_level  # noqa: F401
from expectations.suites import SuiteError, load_run_suite, load_suite, load_suites  # noqa: F401
