"""bench.capacity: the plan is computed from the measured figures (nothing typed by hand)."""
from __future__ import annotations

import math

import pytest

from bench.capacity import Assumptions, measured_figures, plan_night, render, write_capacity
from bench.report import target_checks

E2E = {
    "corpus": {"chars": 3_000_000, "meetings": 50, "segments": 40_000},
    "one_worker": {"steady_chars_per_sec": 26_000, "peak_rss_per_worker_mib_max": 900.0,
                   "first_element_seconds_median": 6.5, "startup_seconds": 15.0},
    "two_workers": {"steady_chars_per_sec": 48_000, "peak_rss_per_worker_mib_max": 850.0,
                    "first_element_seconds_median": 7.5, "startup_seconds": 14.0},
    "speedup_2w_vs_1w_steady": 1.85,
}


def test_measured_figures_come_from_the_two_worker_steady_state():
    measured = measured_figures(E2E)
    assert measured.chars_per_meeting == 60_000
    assert measured.per_core_chars_per_sec == 24_000          # 48,000 chars/s on 2 cores
    assert measured.peak_rss_worker_mib == 900.0
    assert measured.local_startup_seconds == 7.5               # the slower mode


def test_a_night_fits_its_window_and_costs_what_its_worker_hours_cost():
    assumptions = Assumptions(vcpus=2, memory_gb=7.5, window_hours=4, vm_startup_minutes=4,
                              price_vcpu_hour=0.05, price_gb_hour=0.004)
    measured = measured_figures(E2E)
    plan = plan_night(100_000, measured, assumptions)
    core_seconds = 100_000 * 60_000 / 24_000
    assert plan.core_hours == pytest.approx(core_seconds / 3600)
    fixed = 4 * 60 + 7.5
    assert plan.workers == math.ceil(core_seconds / (2 * (4 * 3600 - fixed)))
    assert plan.wall_hours <= 4
    assert plan.wall_hours == pytest.approx((fixed + core_seconds / (plan.workers * 2)) / 3600)
    assert plan.cost_usd == pytest.approx(plan.workers * plan.wall_hours * (2 * 0.05 + 7.5 * 0.004))
    # twice the throughput: half the core-hours
    faster = measured_figures({**E2E, "two_workers": {**E2E["two_workers"], "steady_chars_per_sec": 96_000}})
    assert plan_night(100_000, faster, assumptions).core_hours == pytest.approx(plan.core_hours / 2)
    assert plan_night(1_000, measured, assumptions).workers == 1


def test_the_plan_document_states_its_source_prices_and_measured_numbers(tmp_path):
    document = {"meta": {"created_at": "2026-12-01T09:00:00+00:00", "quick": False,
                         "load_average_start": "1.00", "load_average_end": "1.20"},
                "results": {"pipeline_e2e": E2E}}
    out = write_capacity(document, "bench/results/bench-x.json", tmp_path / "CAPACITY.md")
    text = out.read_text()
    assert "bench/results/bench-x.json" in text and "2026-12-01T09:00:00+00:00" in text
    assert "24,000 chars/s" in text and "| 100,000 |" in text and "per vCPU-hour" in text
    assert "re-check" in text.lower() or "NOT re-checked" in text
    small = render({**document, "results": {"pipeline_e2e": {**E2E, "corpus": {**E2E["corpus"], "chars": 300_000}}}},
                   "x.json")
    assert "below the 3,000,000 characters" in small


def test_steady_state_scaling_and_start_up_are_targets():
    checks = {c.name: c for c in target_checks({"pipeline_e2e": E2E})}
    assert checks["pipeline e2e, 2 workers vs 1 worker, steady state (start-up taken out)"].passed is True
    start_up = checks["local start-up: first element processed (slower mode)"]
    assert start_up.measured == 7.5 and start_up.passed is True
    slow = {**E2E, "two_workers": {**E2E["two_workers"], "first_element_seconds_median": 9.0}}
    assert {c.name: c for c in target_checks({"pipeline_e2e": slow})}[
        "local start-up: first element processed (slower mode)"].passed is False
