"""Which pad layer each file is read on, from the --layer values given: `PATTERN=LAYER` for the files
whose name matches the glob PATTERN (the first such value wins), else the unprefixed value of the
file's kind: LAYER/DATATYPE for GDS and OASIS, a name for DXF (a layer name) and DEF (a LEF layer)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

from ..errors import UsageError
from .compressed import plain_name

_GDS_LAYER = re.compile(r"^\s*\d+\s*([/:]\s*\d+)?\s*$")
#: the formats read by LAYER/DATATYPE (the others by name)
NUMBERED = ("gds", "oasis")


def is_numbered(value: str) -> bool:
    """Whether a layer is written LAYER/DATATYPE (9/0, 9) rather than as a name."""
    return bool(_GDS_LAYER.match(value))


def split(value: str) -> tuple[str | None, str]:
    """`PATTERN=LAYER` -> (PATTERN, LAYER); an unprefixed value -> (None, value)."""
    if "=" in value:
        pattern, _eq, layer = value.partition("=")
        return pattern.strip(), layer.strip()
    return None, value.strip()


def check_layers(values: Sequence[str]) -> None:
    """Refuse --layer values that leave a file's layer to chance: an empty pattern or layer, or two
    unprefixed values of one kind (two L/D layers, or two names)."""
    defaults: dict[bool, str] = {}
    for value in values:
        pattern, layer = split(value)
        if pattern == "" or not layer:
            raise UsageError(f"--layer {value!r}: write PATTERN=LAYER (e.g. 'sg13*=9/0') or a layer alone")
        if pattern is None:
            numbered = is_numbered(layer)
            if numbered in defaults:
                kind = "GDS/OASIS layers (L/D)" if numbered else "layer names (DXF, DEF)"
                raise UsageError(
                    f"--layer {defaults[numbered]} and --layer {layer}: two unprefixed {kind}; say which files "
                    f"each is for with PATTERN=LAYER, e.g. --layer '*_a.gds={defaults[numbered]}' --layer "
                    f"'*_b.gds={layer}'"
                )
            defaults[numbered] = layer


def choose_layer(path: str, values: Sequence[str], fmt: str) -> str | None:
    """The layer to read `path` (of format `fmt`) on: the first PATTERN=LAYER whose glob matches the
    file's name (with or without its .gz), else the unprefixed value of the file's kind, else None
    (the reader takes the file's only layer)."""
    check_layers(values)
    name = os.path.basename(path)
    names = {name, plain_name(name)}
    default = None
    for value in values:
        pattern, layer = split(value)
        if pattern is None:
            if default is None and is_numbered(layer) == (fmt in NUMBERED):
                default = layer
        elif any(fnmatchcase(n, pattern) for n in names):
            return layer
    return default


def gds_pair(value: Any) -> str | None:
    """The "L/D" of a GDS layer given as (L, D) or as an object with whole `layer` and `datatype`
    (KLayout's LayerInfo, gdsfactory's layers); None for anything else."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        number, datatype = value
        unset = False
    else:  # (a LayerInfo of a name alone has layer and datatype -1)
        number, datatype = getattr(value, "layer", None), getattr(value, "datatype", None)
        unset = isinstance(number, int) and isinstance(datatype, int) and min(number, datatype) < 0
    whole = all(isinstance(x, int) and not isinstance(x, bool) for x in (number, datatype))
    return f"{number}/{datatype}" if whole and not unset else None


def layer_text(layer: Any) -> str | Sequence[str] | None:
    """A layer as the readers take it: "9/0" (a GDS layer given as (9, 0), 9, or a layer object:
    `gds_pair`), a DXF or LEF layer's name, or several of those."""
    if layer is None or isinstance(layer, str):
        return layer
    pair = gds_pair(layer)
    if pair is not None:
        return pair
    if isinstance(layer, int) and not isinstance(layer, bool):
        return str(layer)
    if isinstance(layer, (tuple, list)) and all(isinstance(x, str) for x in layer):
        return list(layer)
    raise TypeError(
        f'layer: "9/0", (9, 0) or 9 for a GDS/OASIS layer, a DXF or LEF layer\'s name, or a list of '
        f"those per file; not {type(layer).__name__} {layer!r}"
    )
