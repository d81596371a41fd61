"""Building the pipeline on the driver loads none of the heavy model libraries.

Presidio, spaCy and Great Expectations load on the workers that use them (in ``setup()``);
a driver that imported them would add seconds of serial start-up to every multi-worker run.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BUILD = """
import sys
import apache_beam as beam
from pipeline.cli import _parser
from pipeline.options import build_run_options
from pipeline.run import build_pipeline
args, extra = _parser().parse_known_args(["run", "--input", "examples/meetings", "--consent",
    "examples/consent/ledger.jsonl", "--output", sys.argv[1], "--as-of", "2026-06-01T00:00:00Z"])
build_pipeline(beam.Pipeline(), build_run_options(args, extra))
print(",".join(m for m in ("presidio_analyzer", "spacy", "great_expectations") if m in sys.modules))
"""


def test_building_the_pipeline_imports_no_model_library(tmp_path):
    proc = subprocess.run([sys.executable, "-c", BUILD, str(tmp_path / "out")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                                       "GATEKEEPER_PSEUDONYM_KEY": "test-only-NOT-A-SECRET-0123456789abcdef"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == ""
