from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SAMPLES = os.path.join(ROOT, "sample_layouts")
REALWORLD = os.path.join(os.path.dirname(ROOT), "shared", "realworld")

sys.path.insert(0, HERE)

import tools  # noqa: E402


@pytest.fixture
def gerbv() -> str:
    """gerbv's executable; without it the test is skipped (tools.py)."""
    return tools.need("gerbv")


@pytest.fixture
def chromium() -> str:
    """Chromium's executable; without it the test is skipped (tools.py)."""
    return tools.need("chromium")


@pytest.fixture
def realworld() -> str:
    if not os.path.isdir(REALWORLD):
        pytest.skip("../shared/realworld is not beside this checkout")
    return REALWORLD


from hypothesis import HealthCheck, settings  # noqa: E402

# `make test` runs a short fuzz; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) a long one
settings.register_profile("default", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
