"""GDSII and OASIS through gdstk: the chosen cell's shapes on one layer, hierarchy expanded with
numpy (each cell's polygons are read once and placed by every transform that reaches it)."""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import forked
from ..errors import InputError, UsageError, input_error
from ..model import Polygons
from .base import Placed, RawLayout

CONTEXT_CELL = "$$$CONTEXT_INFO$$$"
MAX_DEPTH = 64


def parse_gds_layer(text: str) -> tuple[int, int]:
    """'9/0' or '9' -> (9, 0)."""
    parts = text.strip().replace(":", "/").split("/")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise UsageError(f"--layer {text!r}: a GDS/OASIS layer is LAYER/DATATYPE, e.g. 9/0") from None
    if len(nums) == 1:
        nums.append(0)
    if len(nums) != 2 or min(nums) < 0:
        raise UsageError(f"--layer {text!r}: a GDS/OASIS layer is LAYER/DATATYPE, e.g. 9/0")
    return nums[0], nums[1]


@contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """gdstk prints its complaints on the C stderr: catch them so the user sees one line from us."""
    sys.stderr.flush()
    saved = os.dup(2)
    box: list[str] = []
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield box
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            box.append(tmp.read().decode("utf-8", "replace"))


def _gdstk_reason(exc: BaseException, captured: list[str]) -> str:
    said = [ln.replace("[GDSTK]", "").strip() for ln in "".join(captured).splitlines() if ln.strip()]
    return said[-1].rstrip(".") if said else str(exc).rstrip(".")


READ_TIMEOUT_S = 300.0


def _load(path: str, fmt: str, layer: tuple[int, int] | None) -> tuple[Any, float]:
    with _captured_stderr() as captured:
        try:
            return _load_quiet(path, fmt, layer)
        except InputError:
            raise
        except _Unreadable as exc:
            err: Exception = exc
    kind = "OASIS" if fmt == "oasis" else "GDSII"
    raise input_error(path, f"not a readable {kind} file ({_gdstk_reason(err.__cause__ or err, captured)})")


class _Unreadable(Exception):
    pass


def _load_quiet(path: str, fmt: str, layer: tuple[int, int] | None) -> tuple[Any, float]:
    import gdstk

    try:
        with warnings.catch_warnings():
            # gdstk warns of records it skips; what matters to the user is reported by the reader
            warnings.simplefilter("ignore")
            if fmt == "oasis":
                precision = gdstk.oas_precision(path)
                lib = gdstk.read_oas(path, unit=1e-6)
            else:
                _unit, precision = gdstk.gds_units(path)
                kwargs: dict[str, Any] = {"unit": 1e-6}
                if layer is not None:
                    kwargs["filter"] = {layer}
                lib = gdstk.read_gds(path, **kwargs)
    except (OSError, RuntimeError, ValueError, TypeError, MemoryError, OverflowError) as exc:
        raise _Unreadable(str(exc)) from exc
    if not precision or not np.isfinite(precision) or precision <= 0:
        raise input_error(path, "the file gives no valid database unit")
    return lib, float(precision)


def _ref_transforms(ref: Any) -> np.ndarray:
    """(R, 2, 3) affine transforms of one reference: mirror about x, magnify, rotate, translate,
    then every offset of its repetition (array references)."""
    c, s = np.cos(ref.rotation), np.sin(ref.rotation)
    m = ref.magnification
    lin = np.array([[c, -s], [s, c]]) * m
    if ref.x_reflection:
        lin = lin @ np.array([[1.0, 0.0], [0.0, -1.0]])
    origin = np.asarray(ref.origin, dtype=float)
    offsets = ref.repetition.get_offsets() if ref.repetition.size else np.zeros((1, 2))
    offsets = np.asarray(offsets, dtype=float).reshape(-1, 2)
    out = np.empty((len(offsets), 2, 3))
    out[:, :, :2] = lin
    out[:, :, 2] = origin + offsets
    return out


def _compose(parent: np.ndarray, child: np.ndarray) -> np.ndarray:
    """All P x R compositions parent[p] o child[r] -> (P * R, 2, 3)."""
    lin = np.einsum("pij,rjk->prik", parent[:, :, :2], child[:, :, :2])
    trans = np.einsum("pij,rj->pri", parent[:, :, :2], child[:, :, 2]) + parent[:, None, :, 2]
    out = np.empty((len(parent), len(child), 2, 3))
    out[..., :2] = lin
    out[..., 2] = trans
    return out.reshape(-1, 2, 3)


def _ref_name(ref: Any) -> str | None:
    target = ref.cell
    if isinstance(target, str):
        return None
    return str(target.name)


def _order(path: str, top: Any) -> list[Any]:
    """Cells under `top` (itself included), parents before children; refuses cycles and depth."""
    order: list[Any] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[tuple[Any, Any]] = [(top, iter(top.references))]
    state[top.name] = 1
    while stack:
        cell, it = stack[-1]
        ref = next(it, None)
        if ref is None:
            stack.pop()
            state[cell.name] = 2
            order.append(cell)
            continue
        if isinstance(ref.cell, str):
            raise input_error(path, f"cell {cell.name!r} references a missing cell {ref.cell!r}")
        child = ref.cell
        if not hasattr(child, "references"):
            raise input_error(path, f"cell {cell.name!r} references an unreadable cell")
        st = state.get(child.name)
        if st == 1:
            raise input_error(path, f"cyclic hierarchy: cell {child.name!r} contains itself")
        if st is None:
            if len(stack) >= MAX_DEPTH:
                raise input_error(path, f"hierarchy deeper than {MAX_DEPTH} levels under {top.name!r}")
            state[child.name] = 1
            stack.append((child, iter(child.references)))
    order.reverse()
    return order


def _cell_points(cell: Any, want: tuple[int, int]) -> list[np.ndarray]:
    """The vertices of a cell's own polygons on one layer; paths and repetitions expanded by gdstk
    (a cell of plain polygons is read as it is, without copying every polygon first)."""
    if not cell.paths and not any(p.repetition.size for p in cell.polygons):
        return [p.points for p in cell.polygons if p.layer == want[0] and p.datatype == want[1]]
    polys = cell.get_polygons(apply_repetitions=True, include_paths=True, depth=0, layer=want[0], datatype=want[1])
    return [p.points for p in polys]


def _layer_counts(cells: list[Any], placements: dict[str, int]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for cell in cells:
        n = placements.get(cell.name, 0)
        if not n:
            continue
        for p in list(cell.polygons) + list(cell.paths):
            rep = max(1, p.repetition.size)
            if hasattr(p, "layers"):  # paths: one entry per path element
                for layer, dtype in zip(p.layers, p.datatypes, strict=False):
                    counts[f"{layer}/{dtype}"] += n * rep
            else:
                counts[f"{p.layer}/{p.datatype}"] += n * rep
    return dict(sorted(counts.items(), key=lambda kv: tuple(int(x) for x in kv[0].split("/"))))


def _placement_counts(order: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {order[0].name: 1}
    for cell in order:
        n = counts.get(cell.name, 0)
        for ref in cell.references:
            name = _ref_name(ref)
            if name is not None:
                counts[name] = counts.get(name, 0) + n * max(1, ref.repetition.size)
    return counts


def _choose_top(path: str, lib: Any, cell: str | None) -> Any:
    if cell is not None:
        for c in lib.cells:
            if c.name == cell:
                return c
        tops = ", ".join(c.name for c in lib.top_level() if c.name != CONTEXT_CELL)
        raise input_error(path, f"no cell named {cell!r}; top cells: {tops or '(none)'}")
    tops = lib.top_level()
    visible = [c for c in tops if c.name != CONTEXT_CELL]
    if len(visible) == 1:
        return visible[0]
    if not visible:
        if tops:
            return tops[0]
        raise input_error(path, "the file holds no cells")
    names = ", ".join(sorted(c.name for c in visible))
    raise input_error(path, f"{len(visible)} top cells ({names}); choose one with --cell")


def read_gds(
    path: str,
    fmt: str,
    layer: str | None,
    cell: str | None,
    max_shapes: int,
    list_layers: bool,
) -> RawLayout:
    """Read the shapes of one layer of one cell of a GDSII or OASIS file."""
    kind = "OASIS" if fmt == "oasis" else "GDSII"

    def guarded() -> RawLayout:
        try:
            return _read_gds(path, fmt, layer, cell, max_shapes, list_layers)
        except (TypeError, ValueError, RuntimeError, UnicodeDecodeError, OverflowError, AttributeError) as exc:
            # gdstk read a damaged file without complaint but cannot hand over what it read
            raise input_error(path, f"not a readable {kind} file (damaged: {str(exc).rstrip('.')})") from None

    # gdstk is C++ and a damaged file can crash it: the read runs in a forked child
    read = forked.start(guarded, READ_TIMEOUT_S)
    try:
        return read()
    except forked.Crashed as exc:
        if exc.timed_out:
            late = f"reading the file did not finish in {READ_TIMEOUT_S:.0f} s; it is probably damaged"
            raise input_error(path, late) from None
        raise input_error(path, f"not a readable {kind} file (damaged: the reader crashed on it)") from None


def _read_gds(
    path: str,
    fmt: str,
    layer: str | None,
    cell: str | None,
    max_shapes: int,
    list_layers: bool,
) -> RawLayout:
    if not os.path.isfile(path):
        raise input_error(path, "no such file")
    want = parse_gds_layer(layer) if layer is not None else None
    lib, precision = _load(path, fmt, want if not list_layers else None)
    grid_um = precision / 1e-6
    top = _choose_top(path, lib, cell)
    order = _order(path, top)
    counts = _placement_counts(order)
    layers: dict[str, int] = _layer_counts(order, counts) if (list_layers or want is None) else {}
    if want is None:
        if len(layers) != 1:
            present = ", ".join(f"{k} ({v})" for k, v in layers.items()) or "none"
            raise UsageError(f"{path}: choose the pad layer with --layer; layers present: {present}")
        want = parse_gds_layer(next(iter(layers)))

    local: dict[str, Polygons] = {}
    for c in order:
        points = _cell_points(c, want)
        if points:
            local[c.name] = Polygons.from_list(points)
    # cells whose subtree holds the layer: only those are expanded
    holds: dict[str, bool] = {}
    for c in reversed(order):
        holds[c.name] = c.name in local or any(
            holds.get(n, False) for n in (_ref_name(r) for r in c.references) if n is not None
        )
    total = sum(len(local[name]) * counts.get(name, 0) for name in local)
    if total > max_shapes:
        raise InputError(
            f"{path}: layer {want[0]}/{want[1]} expands to {total:,} shapes, above the limit of "
            f"{max_shapes:,} (raise it with --max-contacts)"
        )
    transforms: dict[str, list[np.ndarray]] = {top.name: [np.array([[[1.0, 0, 0], [0, 1.0, 0]]])]}
    for c in order:
        if not holds[c.name] or c.name not in transforms:
            continue
        mine = np.concatenate(transforms[c.name])
        for ref in c.references:
            name = _ref_name(ref)
            if name is not None and holds.get(name, False):
                transforms.setdefault(name, []).append(_compose(mine, _ref_transforms(ref)))
    parts = [Placed(local[name], np.concatenate(transforms[name])) for name in sorted(local) if name in transforms]
    if not parts:
        if not layers:  # the read was filtered to the pad layer: read again to list the others
            lib, _ = _load(path, fmt, None)
            top = _choose_top(path, lib, top.name)
            order = _order(path, top)
            layers = _layer_counts(order, _placement_counts(order))
        present = ", ".join(f"{k} ({v})" for k, v in layers.items()) or "none"
        raise input_error(
            path, f"no shapes on layer {want[0]}/{want[1]} in cell {top.name!r}; layers present: {present}"
        )
    for p in parts:
        if not np.isfinite(p.polygons.coords).all() or not np.isfinite(p.transforms).all():
            raise input_error(path, "non-finite coordinates")
    return RawLayout(
        path=path,
        format=fmt,
        cell=top.name,
        layer=f"{want[0]}/{want[1]}",
        grid_um=grid_um,
        parts=parts,
        layers=layers,
        cells=sorted(c.name for c in lib.cells),
    )
