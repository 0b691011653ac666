"""Every unit conversion in one place. Micrometres (um) are the internal unit."""

from __future__ import annotations

import re

from .errors import UsageError, input_error

#: micrometres per unit, for every unit name a user may write
UM_PER_UNIT: dict[str, float] = {
    "nm": 1e-3,
    "um": 1.0,
    "mm": 1e3,
    "cm": 1e4,
    "m": 1e6,
    "in": 25_400.0,
    "inch": 25_400.0,
    "mil": 25.4,
}

#: micrometres per drawing unit, by a DXF header's $INSUNITS code (0: unitless; 8 and 9, microinches
#: and mils, as the DXF reference leaves them)
INSUNITS_UM: dict[int, float] = {
    1: 25_400.0,
    2: 304_800.0,
    3: 1_609_344_000.0,
    4: 1e3,
    5: 1e4,
    6: 1e6,
    7: 1e9,
    10: 914_400.0,
    11: 1e-4,
    12: 1e-3,
    13: 1.0,
    14: 1e5,
    15: 1e7,
    16: 1e8,
    17: 1e15,
    18: 1.495978707e17,
    19: 9.46e21,
    20: 3.09e22,
}


def insunits_um(path: str, code: int | None) -> float:
    """Micrometres per drawing unit by the $INSUNITS code of DXF file `path`'s header (None: the header
    has none); an InputError naming the file, what is wrong and what to pass where it names no usable
    unit."""
    if code is None:
        raise input_error(path, "has no $INSUNITS (unitless); pass --units um|mm")
    if code == 0:
        raise input_error(path, "$INSUNITS is 0 (unitless); pass --units um|mm")
    if code not in INSUNITS_UM:
        raise input_error(path, f"$INSUNITS is {code}, not a unit stencilgen knows; pass --units")
    return INSUNITS_UM[code]


_LENGTH = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)\s*$")


def um_per_unit(name: str) -> float:
    """Micrometres in one `name` (um, mm, in, ...); a clear error for an unknown name."""
    key = name.strip().lower()
    if key in ("µm", "micron", "microns"):
        key = "um"
    if key not in UM_PER_UNIT:
        known = ", ".join(sorted(UM_PER_UNIT))
        raise UsageError(f"unknown unit {name!r}; use one of {known}")
    return UM_PER_UNIT[key]


def parse_length(text: str | float | int, default_unit: str = "um") -> float:
    """A length such as "120um", "0.12mm" or "120" (in `default_unit`) -> micrometres."""
    if isinstance(text, (int, float)):
        return float(text) * um_per_unit(default_unit)
    match = _LENGTH.match(text)
    if not match:
        raise UsageError(f"not a length: {text!r} (write e.g. 20um or 0.02mm)")
    value, unit = match.groups()
    return float(value) * um_per_unit(unit or default_unit)
