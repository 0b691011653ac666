"""The compiled kernels: built where a C compiler is (CI requires them), and from the current source."""

from __future__ import annotations

import os

import pytest

from stencilgen import compiled


def test_kernels_are_built_where_required():
    """CI installs a C compiler and sets STENCILGEN_REQUIRE_KERNELS: a failed build (which the
    install lets pass, the kernels being optional) must not leave the suite testing numpy alone."""
    if os.environ.get("STENCILGEN_REQUIRE_KERNELS") == "1":
        assert compiled.native is not None, "the compiled kernels were not built"


def test_kernels_are_built_from_the_current_source():
    """In a checkout, a kernel module older than its source is a build that failed after an edit:
    the tests would run the old kernels."""
    if compiled.native is None:
        pytest.skip("the compiled kernels are not built (no C compiler)")
    built = compiled.native.__file__
    source = os.path.join(os.path.dirname(built), "_native.c")
    if not os.path.exists(source):
        pytest.skip("an installed package: no source beside the module")
    assert os.path.getmtime(built) >= os.path.getmtime(source), f"{built} is older than {source}"
