"""Repository-wide pytest settings: an explicit fake pseudonym key and offline guards."""
import os

from apache_beam.runners import runner as beam_runner
from hypothesis import settings

os.environ.setdefault("GATEKEEPER_PSEUDONYM_KEY", "test-only-NOT-A-SECRET-0123456789abcdef")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

settings.register_profile("gatekeeper", max_examples=150, deadline=None)
settings.load_profile("gatekeeper")

# Beam 2.77's DirectRunner (TestPipeline's default) first tries Prism, which downloads a binary
# from the internet. Tests run offline: send DirectRunner straight to the FnApiRunner it would
# fall back to (the CLI does the same, see pipeline.options.beam_pipeline_options).
beam_runner._RUNNER_MAP["directrunner"] = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
