"""Fixtures shared across the test packages."""
from __future__ import annotations

import pytest

from tests.headless_chromium import launch


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium (tests/headless_chromium.py) on a fresh profile."""
    with launch(tmp_path / "chromium-profile") as cdp:
        yield cdp
