"""What a reader hands over: the pad layer's shapes per cell, each with the transforms that place it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model import Excluded, Polygons


@dataclass(frozen=True)
class Placed:
    """The polygons of one cell (its own coordinates) and every (2, 3) transform placing it in the top cell."""

    polygons: Polygons
    transforms: np.ndarray  # (P, 2, 3)
    on_grid: bool = False  # the coordinates are k * grid_um (whole database units): snapping keeps them


@dataclass(frozen=True)
class RawLayout:
    path: str
    format: str
    cell: str
    layer: str
    grid_um: float
    parts: list[Placed]
    layers: dict[str, int]
    cells: list[str]
    skipped: list[Excluded] = field(default_factory=list)
    #: each placement's shapes are contacts of their own, never merged with another placement's (a
    #: DEF's placed macros: two pads that touch stay two)
    separate: bool = False
