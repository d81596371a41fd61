"""Write a run's validation outputs: ``validation.json`` and the Data Docs site."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Optional

from expectations.data_docs import ModuleRunner, write_data_docs
from expectations.model import ValidationReport

log = logging.getLogger(__name__)


def write_validation_artifacts(
    report: ValidationReport, run_dir: str | Path, suites_dir: Optional[str] = None,
    run_time: Optional[dt.datetime] = None, run_module: Optional[ModuleRunner] = None,
) -> ValidationReport:
    """Write ``run_dir/data_docs/`` and ``run_dir/validation.json``; returns the report
    with ``data_docs_path`` set (``runs/<run_id>/data_docs/index.html``, relative to
    OUTPUT). If Data Docs cannot be built, the run's gate is unaffected: the
    failure is logged by class name and ``data_docs_path`` stays None. ``run_module``: see
    ``write_data_docs``.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    docs_path: Optional[str] = None
    try:
        write_data_docs(report, run_dir / "data_docs", suites_dir=suites_dir, run_time=run_time,
                        run_module=run_module)
        docs_path = f"runs/{report.run_id}/data_docs/index.html"
    except Exception as exc:  # Data Docs are a view; validation.json is the record
        log.error("data docs not written (%s)", type(exc).__name__)
    final = report.with_data_docs(docs_path)
    (run_dir / "validation.json").write_text(final.to_json(), encoding="utf-8")
    return final
