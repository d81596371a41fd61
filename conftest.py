"""Repository-wide pytest settings: an explicit fake pseudonym key and offline guards."""
import os

from hypothesis import settings

os.environ.setdefault("GATEKEEPER_PSEUDONYM_KEY", "test-only-NOT-A-SECRET-0123456789abcdef")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

settings.register_profile("gatekeeper", max_examples=150, deadline=None)
settings.load_profile("gatekeeper")
