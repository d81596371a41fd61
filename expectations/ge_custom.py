"""A registered GE expectation type that stands for checks gatekeeper computes itself.

Cross-batch uniqueness, ordering within an artifact, Parquet file schemas,
conservation and drift are computed by gatekeeper code (Beam combiners or the
run manifest), not by GE on a batch. To show them in GE Data Docs next to the
GE-run expectations they are rendered as ``expect_gatekeeper_check`` with the
gatekeeper check name in ``check``. Its own ``_validate`` is never used to gate
anything.
"""
from __future__ import annotations

from typing import ClassVar, Optional, Tuple

from great_expectations.expectations.expectation import BatchExpectation


class ExpectGatekeeperCheck(BatchExpectation):
    """A gatekeeper check computed outside GE (across batches or from the run manifest)."""

    check: str
    column: Optional[str] = None
    metric: Optional[str] = None

    metric_dependencies: ClassVar[Tuple[str, ...]] = ("table.row_count",)
    success_keys: ClassVar[Tuple[str, ...]] = ("check",)
    args_keys: ClassVar[Tuple[str, ...]] = ("check",)

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
        # Outcomes are computed by gatekeeper code; this type exists for rendering only.
        return {"success": False, "result": {"observed_value": "computed by gatekeeper"}}
