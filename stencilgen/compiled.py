"""The compiled kernels (`stencilgen/_native.c`) when the install built them (it needs a C compiler),
else None. Each kernel has a numpy twin in the package that gives the same results, bit for bit."""

from __future__ import annotations

from types import ModuleType

native: ModuleType | None
try:
    from . import _native as native
except ImportError:  # installed without a C compiler
    native = None
