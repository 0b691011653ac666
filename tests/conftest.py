from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SAMPLES = os.path.join(ROOT, "sample_layouts")
REALWORLD = os.path.join(os.path.dirname(ROOT), "shared", "realworld")

sys.path.insert(0, HERE)


@pytest.fixture
def realworld() -> str:
    if not os.path.isdir(REALWORLD):
        pytest.skip("../shared/realworld is not beside this checkout")
    return REALWORLD
