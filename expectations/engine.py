"""One import point for the driver: the result model and the run-level checks."""
from expectations.artifacts import write_validation_artifacts  # noqa: F401
from expectations.data_docs import write_data_docs  # noqa: F401
from expectations.model import ExpectationOutcome, ValidationReport, merge_outcomes, merge_reports  # noqa: F401
from expectations.run_level import evaluate_run_level  # noqa: F401
