"""DXF through ezdxf: closed outlines on one layer of the modelspace, blocks (INSERT, nested,
scaled, rotated, mirrored, MINSERT arrays) expanded, $INSUNITS honoured."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import numpy as np

from ..errors import InputError, UsageError, input_error
from ..model import Excluded, Polygons
from ..units import insunits_um, um_per_unit
from .base import Placed, RawLayout

#: chord tolerance for arcs, bulges and circles, in micrometres
ARC_TOLERANCE_UM = 0.005
MAX_DEPTH = 64
OUTLINE_TYPES = {"LWPOLYLINE", "POLYLINE", "CIRCLE", "ELLIPSE", "SPLINE", "SOLID", "TRACE", "3DFACE", "HATCH"}
GRID_UM = 0.001


def _matrix(m: Any) -> np.ndarray:
    """ezdxf's Matrix44 (row vectors) -> a (2, 3) affine map of the xy plane (column vectors)."""
    a = np.array(list(m), dtype=float).reshape(4, 4)
    return np.array([[a[0, 0], a[1, 0], a[3, 0]], [a[0, 1], a[1, 1], a[3, 1]]])


def _compose(parent: np.ndarray, child: np.ndarray) -> np.ndarray:
    out = np.empty((2, 3))
    out[:, :2] = parent[:, :2] @ child[:, :2]
    out[:, 2] = parent[:, :2] @ child[:, 2] + parent[:, 2]
    return out


def _outline(entity: Any, tolerance: float) -> list[np.ndarray] | None:
    """The closed outline(s) of an entity in its own coordinates, or None if it is not closed."""
    from ezdxf import path as dxfpath

    kind = entity.dxftype()
    if kind == "LWPOLYLINE" and not entity.closed:
        pts = entity.get_points("xy")
        if len(pts) < 3 or tuple(pts[0]) != tuple(pts[-1]):
            return None
    if kind == "POLYLINE" and (not entity.is_2d_polyline or not entity.is_closed):
        return None
    if kind == "ELLIPSE" and not np.isclose(abs(entity.dxf.end_param - entity.dxf.start_param), 2 * np.pi):
        return None
    if kind == "SPLINE" and not entity.closed:
        return None
    paths = [p for p in dxfpath.from_hatch(entity)] if kind == "HATCH" else [dxfpath.make_path(entity)]
    out = []
    for p in paths:
        pts = np.array([(v.x, v.y) for v in p.flattening(tolerance)], dtype=float)
        if len(pts) > 1 and np.allclose(pts[0], pts[-1]):
            pts = pts[:-1]
        if len(pts) >= 3:
            out.append(pts)
    return out


def _units(path: str, doc: Any, units: str | None) -> float:
    if units is not None:
        return um_per_unit(units)
    code = int(doc.header.get("$INSUNITS", 0) or 0) if "$INSUNITS" in doc.header else None
    return insunits_um(path, code)


def _count_outlines(path: str, doc: Any, layer: str | None) -> int:
    """How many outlines the modelspace expands to on `layer` (any layer: None), blocks and MINSERT
    arrays multiplied out, counted before anything is expanded (each block once per inherited layer)."""
    memo: dict[tuple[str, str | None], int] = {}

    def count(entities: Any, inherited: str | None, stack: tuple[str, ...]) -> int:
        n = 0
        for e in entities:
            kind = e.dxftype()
            own = e.dxf.get("layer", "0")
            eff = inherited if (own == "0" and inherited is not None) else own
            if kind == "INSERT":
                name = e.dxf.name
                block = doc.blocks.get(name)
                if block is None or name in stack or len(stack) >= MAX_DEPTH:
                    continue  # (the expansion says what is wrong with it)
                key = (name, eff)
                if key not in memo:
                    memo[key] = count(block, eff, (*stack, name))
                copies = max(1, int(e.dxf.get("row_count", 1) or 1)) * max(1, int(e.dxf.get("column_count", 1) or 1))
                n += copies * memo[key]
            elif kind in OUTLINE_TYPES and (layer is None or eff == layer):
                n += 1
        return n

    return count(doc.modelspace(), None, ())


def read_dxf(
    path: str,
    layer: str | None,
    units: str | None,
    max_shapes: int,
) -> RawLayout:
    """Read every closed outline on one layer of a DXF's modelspace, in micrometres."""
    import logging

    log = logging.getLogger("ezdxf")  # ezdxf logs what it tolerates; our errors say what matters
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    log.propagate = False
    try:
        return _read_dxf(path, layer, units, max_shapes)
    except (InputError, UsageError):
        raise
    except Exception as exc:  # ezdxf accepted the file but its entities are damaged
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise input_error(path, f"damaged DXF entities ({reason})") from None


def _read_dxf(
    path: str,
    layer: str | None,
    units: str | None,
    max_shapes: int,
) -> RawLayout:
    import ezdxf

    if not os.path.isfile(path):
        raise input_error(path, "no such file")
    try:
        doc = ezdxf.readfile(path)
    except Exception as exc:  # ezdxf raises many kinds for a damaged file; all mean "unreadable"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise input_error(path, f"not a readable DXF file ({reason})") from None
    scale = _units(path, doc, units)
    tolerance = ARC_TOLERANCE_UM / scale
    top = np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]])

    planned = _count_outlines(path, doc, layer)
    if planned > max_shapes:
        raise InputError(
            f"{path}: {'layer ' + repr(layer) if layer is not None else 'the drawing'} expands to {planned:,} "
            f"shapes (blocks inserted), above the limit of {max_shapes:,} (raise it with --max-contacts)"
        )
    counts: Counter[str] = Counter()
    found: dict[str, list[np.ndarray]] = {}
    skipped: list[Excluded] = []
    total = 0

    visits = 0

    def walk(entities: Any, transform: np.ndarray, inherited: str | None, stack: tuple[str, ...]) -> None:
        nonlocal total, visits
        for e in entities:
            kind = e.dxftype()
            own = e.dxf.get("layer", "0")
            eff = inherited if (own == "0" and inherited is not None) else own
            if kind == "INSERT":
                name = e.dxf.name
                if name in stack:
                    raise input_error(path, f"block {name!r} inserts itself (cyclic blocks, handle {e.dxf.handle})")
                if len(stack) >= MAX_DEPTH:
                    raise input_error(path, f"blocks nested deeper than {MAX_DEPTH} levels (handle {e.dxf.handle})")
                block = doc.blocks.get(name)
                if block is None:
                    raise input_error(path, f"INSERT {e.dxf.handle} names a missing block {name!r}")
                copies = max(1, int(e.mcount))
                visits += copies
                if visits > 4 * max_shapes:  # block insertions multiply: refuse before they take forever
                    raise InputError(
                        f"{path}: more than {4 * max_shapes:,} block insertions (INSERT {e.dxf.handle}); "
                        "raise --max-contacts if the drawing is really that large"
                    )
                for ins in e.multi_insert():
                    m = _matrix(ins.matrix44())
                    if not np.isfinite(m).all():
                        raise input_error(path, f"INSERT {e.dxf.handle}: non-finite transform")
                    walk(block, _compose(transform, m), eff, (*stack, name))
                continue
            if kind not in OUTLINE_TYPES:
                continue
            if layer is not None and eff != layer:
                counts[eff] += 1
                continue
            try:
                outlines = _outline(e, tolerance)
            except Exception as exc:
                raise input_error(path, f"{kind} {e.dxf.handle} on layer {eff!r}: unreadable ({exc})") from None
            if outlines is None:
                if layer is not None:
                    skipped.append(Excluded("open outline (not closed)", (0.0, 0.0), (0.0, 0.0), 0.0))
                continue
            counts[eff] += 1
            for pts in outlines:
                if not np.isfinite(pts).all():
                    raise input_error(path, f"{kind} {e.dxf.handle} on layer {eff!r}: non-finite coordinates")
                xy = pts @ transform[:, :2].T + transform[:, 2]
                found.setdefault(eff, []).append(xy)
                total += 1
                if total > max_shapes:
                    raise InputError(
                        f"{path}: more than {max_shapes:,} shapes, above the limit (raise it with --max-contacts)"
                    )

    walk(doc.modelspace(), top, None, ())
    layers = dict(sorted(counts.items()))
    if layer is None:
        if len(layers) != 1:
            present = ", ".join(f"{k} ({v})" for k, v in layers.items()) or "none"
            raise UsageError(f"{path}: choose the pad layer with --layer (layer= in Python); layers present: {present}")
        layer = next(iter(layers))
    shapes = found.get(layer, [])
    if not shapes:
        present = ", ".join(f"{k} ({v})" for k, v in layers.items()) or "none"
        raise input_error(path, f"no closed shapes on layer {layer!r}; layers present: {present}")
    polys = Polygons.from_list(shapes)
    identity = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    return RawLayout(
        path=path,
        format="dxf",
        cell="modelspace",
        layer=layer,
        grid_um=GRID_UM,
        parts=[Placed(polys, identity)],
        layers=layers,
        cells=[],
        skipped=skipped,
    )
