"""GDSII and OASIS: the chosen cell's shapes on one layer, hierarchy expanded with numpy (each
cell's polygons are read once and placed by every transform that reaches it). The library comes
from `gdsii` (numpy, for GDSII files of plain polygons and references) or from gdstk."""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import forked
from ..errors import InputError, UsageError, input_error
from ..model import Polygons
from . import gdsii
from .base import Placed, RawLayout

CONTEXT_CELL = "$$$CONTEXT_INFO$$$"
MAX_DEPTH = 64


def parse_gds_layer(text: str, path: str | None = None) -> tuple[int, int]:
    """'9/0' or '9' -> (9, 0). `path`: the file the layer is for, named in the message."""
    parts = text.strip().replace(":", "/").split("/")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise UsageError(_not_a_layer(text, path)) from None
    if len(nums) == 1:
        nums.append(0)
    if len(nums) != 2 or min(nums) < 0:
        raise UsageError(_not_a_layer(text, path))
    return nums[0], nums[1]


def _not_a_layer(text: str, path: str | None) -> str:
    where = f"{path}: " if path else ""
    return f"{where}--layer {text!r}: a GDS/OASIS layer is LAYER/DATATYPE, e.g. 9/0"


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
                _oasis_end(path)
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


OASIS_MAGIC = b"%SEMI-OASIS\r\n"
OASIS_END = 2  # the END record's id: the last record, padded to exactly 256 bytes


def _oasis_end(path: str) -> None:
    """An OASIS file starts with its magic bytes and ends with its END record (tables and validation):
    one cut short does not."""
    with open(path, "rb") as f:
        if f.read(len(OASIS_MAGIC)) != OASIS_MAGIC:
            raise _Unreadable("it does not start with %SEMI-OASIS")
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size < 256:
            raise _Unreadable("shorter than an END record")
        f.seek(size - 256)
        if f.read(1)[0] != OASIS_END:
            raise _Unreadable("no END record: the file is cut short")


class _Tree:
    """A library's cells by name, whichever reader read it: what each cell references (child name,
    and "ok", "missing" or "unreadable"), with which transforms, and its own shapes."""

    names: list[str]

    def top_level(self) -> list[str]:
        raise NotImplementedError

    def refs(self, name: str) -> list[tuple[str, str]]:
        raise NotImplementedError

    def placed(self, name: str) -> list[tuple[str, Any]]:
        """The cell's references that resolve ("ok"): child name and the reference, with `count`
        (its placements) and `transforms()` ((count, 2, 3), made when asked)."""
        raise NotImplementedError

    def shape_count(self, name: str, want: tuple[int, int]) -> int:
        """How many polygons `polygons` gives, counted without making them."""
        return len(self.polygons(name, want))

    def layer_counts(self, name: str) -> Counter[str]:
        raise NotImplementedError

    def polygons(self, name: str, want: tuple[int, int]) -> Polygons:
        raise NotImplementedError

    def on_grid(self, grid_um: float) -> bool:
        """Whether every coordinate `polygons` gives is a whole number k of database units computed
        as k * grid_um, which snapping to the grid keeps as it is."""
        return False


class _GdstkTree(_Tree):
    def __init__(self, lib: Any) -> None:
        self.cells = {c.name: c for c in lib.cells}
        self.names = [c.name for c in lib.cells]
        self._tops = [c.name for c in lib.top_level()]

    def top_level(self) -> list[str]:
        return self._tops

    def refs(self, name: str) -> list[tuple[str, str]]:
        out = []
        for ref in self.cells[name].references:
            if isinstance(ref.cell, str):
                out.append((ref.cell, "missing"))
            elif not hasattr(ref.cell, "references"):
                out.append((str(getattr(ref.cell, "name", "")), "unreadable"))
            else:
                out.append((ref.cell.name, "ok"))
        return out

    def placed(self, name: str) -> list[tuple[str, Any]]:
        return [
            (r.cell.name, _GdstkRef(r))
            for r in self.cells[name].references
            if not isinstance(r.cell, str) and hasattr(r.cell, "references")
        ]

    def shape_count(self, name: str, want: tuple[int, int]) -> int:
        cell = self.cells[name]
        n = sum(max(1, p.repetition.size) for p in cell.polygons if p.layer == want[0] and p.datatype == want[1])
        for p in cell.paths:
            hits = sum(1 for la, dt in zip(p.layers, p.datatypes, strict=False) if (la, dt) == want)
            n += hits * max(1, p.repetition.size)
        return n

    def layer_counts(self, name: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        cell = self.cells[name]
        for p in list(cell.polygons) + list(cell.paths):
            rep = max(1, p.repetition.size)
            if hasattr(p, "layers"):  # paths: one entry per path element
                for layer, dtype in zip(p.layers, p.datatypes, strict=False):
                    counts[f"{layer}/{dtype}"] += rep
            else:
                counts[f"{p.layer}/{p.datatype}"] += rep
        return counts

    def polygons(self, name: str, want: tuple[int, int]) -> Polygons:
        """Paths and repetitions expanded by gdstk (a cell of plain polygons is read as it is,
        without copying every polygon first)."""
        cell = self.cells[name]
        if not cell.paths and not any(p.repetition.size for p in cell.polygons):
            points = [p.points for p in cell.polygons if p.layer == want[0] and p.datatype == want[1]]
        else:
            polys = cell.get_polygons(
                apply_repetitions=True, include_paths=True, depth=0, layer=want[0], datatype=want[1]
            )
            points = [p.points for p in polys]
        return Polygons.from_list(points)


class _StreamTree(_Tree):
    def __init__(self, stream: gdsii.Stream) -> None:
        self.stream = stream
        self.cells = {c.name: c for c in stream.cells}
        self.names = [c.name for c in stream.cells]

    def top_level(self) -> list[str]:
        used = {child for c in self.stream.cells for child, _t in c.refs}
        return [name for name in self.names if name not in used]

    def refs(self, name: str) -> list[tuple[str, str]]:
        return [(child, "ok" if child in self.cells else "missing") for child, _t in self.cells[name].refs]

    def placed(self, name: str) -> list[tuple[str, Any]]:
        return [(child, ref) for child, ref in self.cells[name].refs if child in self.cells]

    def shape_count(self, name: str, want: tuple[int, int]) -> int:
        _at, _n, layer, dtype = self.stream.shapes(self.cells[name])
        return int(((layer == want[0]) & (dtype == want[1])).sum())

    def on_grid(self, grid_um: float) -> bool:  # (the stream's integers times its scale)
        return self.stream.scale == grid_um

    def layer_counts(self, name: str) -> Counter[str]:
        return self.stream.layer_counts(self.cells[name])

    def polygons(self, name: str, want: tuple[int, int]) -> Polygons:
        return self.stream.polygons(self.cells[name], want)


class _GdstkRef:
    """A gdstk reference: its count of placements, and its transforms when asked."""

    def __init__(self, ref: Any) -> None:
        self.ref = ref
        self.count = max(1, int(ref.repetition.size))

    def transforms(self) -> np.ndarray:
        return _ref_transforms(self.ref)


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


def _order(path: str, tree: _Tree, top: str) -> list[str]:
    """Cells under `top` (itself included), parents before children; refuses cycles and depth."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[tuple[str, Iterator[tuple[str, str]]]] = [(top, iter(tree.refs(top)))]
    state[top] = 1
    while stack:
        cell, it = stack[-1]
        ref = next(it, None)
        if ref is None:
            stack.pop()
            state[cell] = 2
            order.append(cell)
            continue
        child, status = ref
        if status == "missing":
            raise input_error(path, f"cell {cell!r} references a missing cell {child!r}")
        if status != "ok":
            raise input_error(path, f"cell {cell!r} references an unreadable cell")
        st = state.get(child)
        if st == 1:
            raise input_error(path, f"cyclic hierarchy: cell {child!r} contains itself")
        if st is None:
            if len(stack) >= MAX_DEPTH:
                raise input_error(path, f"hierarchy deeper than {MAX_DEPTH} levels under {top!r}")
            state[child] = 1
            stack.append((child, iter(tree.refs(child))))
    order.reverse()
    return order


def _placement_counts(tree: _Tree, order: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {order[0]: 1}
    for name in order:
        n = counts.get(name, 0)
        for child, ref in tree.placed(name):
            counts[child] = counts.get(child, 0) + n * ref.count
    return counts


def _layer_counts(tree: _Tree, order: list[str], placements: dict[str, int]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for name in order:
        n = placements.get(name, 0)
        if n:
            for key, c in tree.layer_counts(name).items():
                counts[key] += n * c
    return dict(sorted(counts.items(), key=lambda kv: tuple(int(x) for x in kv[0].split("/"))))


def _choose_top(path: str, tree: _Tree, cell: str | None) -> str:
    tops = tree.top_level()
    if cell is not None:
        if cell in tree.names:
            return cell
        listed = ", ".join(t for t in tops if t != CONTEXT_CELL)
        raise input_error(path, f"no cell named {cell!r}; top cells: {listed or '(none)'}")
    visible = [t for t in tops if t != CONTEXT_CELL]
    if len(visible) == 1:
        return visible[0]
    if not visible:
        if tops:
            return tops[0]
        if tree.names:  # every cell is placed by another: they place each other
            some = ", ".join(sorted(tree.names)[:5])
            raise input_error(path, f"no top cell: the cells place each other in a cycle ({some})")
        raise input_error(path, "the file holds no cells")
    names = ", ".join(sorted(visible))
    # (the file is fine: which cell to plan is the user's choice, as the pad layer is: a usage error)
    raise UsageError(f"{path}: {len(visible)} top cells ({names}); choose one with --cell (cell= in Python)")


def read_gds(
    path: str,
    fmt: str,
    layer: str | None,
    cell: str | None,
    max_shapes: int,
    list_layers: bool,
) -> RawLayout:
    """Read the shapes of one layer of one cell of a GDSII or OASIS file.

    A GDSII file of what pad layers are made of is read with numpy in this process (`gdsii`);
    OASIS, and GDSII holding anything more, through gdstk in a forked child, since gdstk is C++ and
    a damaged file can crash it."""
    if not os.path.isfile(path):
        raise input_error(path, "no such file")
    if os.path.getsize(path) == 0:
        raise input_error(path, f"is empty (0 bytes): no {'OASIS' if fmt == 'oasis' else 'GDSII'} layout")
    want = parse_gds_layer(layer, path) if layer is not None else None
    if fmt == "gds":
        try:
            stream = gdsii.read_stream(path)
        except (gdsii.Unsupported, ValueError, IndexError, UnicodeDecodeError, OverflowError):
            pass
        else:
            tree = _StreamTree(stream)
            return _expand(path, fmt, tree, stream.db_m, want, cell, max_shapes, list_layers, lambda: tree)
    kind = "OASIS" if fmt == "oasis" else "GDSII"

    def guarded() -> RawLayout:
        try:
            lib, precision = _load(path, fmt, want if not list_layers else None)
            return _expand(
                path,
                fmt,
                _GdstkTree(lib),
                precision,
                want,
                cell,
                max_shapes,
                list_layers,
                lambda: _GdstkTree(_load(path, fmt, None)[0]),
            )
        except (TypeError, ValueError, RuntimeError, UnicodeDecodeError, OverflowError, AttributeError) as exc:
            # gdstk read a damaged file without complaint but cannot hand over what it read
            raise input_error(path, f"not a readable {kind} file (damaged: {str(exc).rstrip('.')})") from None

    read = forked.start(guarded, READ_TIMEOUT_S)
    try:
        return read()
    except forked.Crashed as exc:
        if exc.timed_out:
            late = f"reading the file did not finish in {READ_TIMEOUT_S:.0f} s; it is probably damaged"
            raise input_error(path, late) from None
        raise input_error(path, f"not a readable {kind} file (damaged: the reader crashed on it)") from None


def count_layer(path: str, fmt: str, want: tuple[int, int]) -> int:
    """Shapes on layer `want` under every top cell, with references, arrays and repetitions (an OASIS
    file's shape repetitions too) multiplied out, counted without making any: gdstk keeps them as
    they are written, in a forked child, as `read_gds`."""

    def count(tree: _Tree) -> int:
        total = 0
        for top in tree.top_level() or tree.names[:1]:
            order = _order(path, tree, top)
            placements = _placement_counts(tree, order)
            total += sum(tree.shape_count(name, want) * placements.get(name, 0) for name in order)
        return total

    if fmt == "gds":
        try:
            return count(_StreamTree(gdsii.read_stream(path)))
        except (gdsii.Unsupported, ValueError, IndexError, UnicodeDecodeError, OverflowError):
            pass
    kind = "OASIS" if fmt == "oasis" else "GDSII"

    def guarded() -> int:
        try:
            return count(_GdstkTree(_load(path, fmt, want)[0]))
        except (TypeError, ValueError, RuntimeError, UnicodeDecodeError, OverflowError, AttributeError) as exc:
            raise input_error(path, f"not a readable {kind} file (damaged: {str(exc).rstrip('.')})") from None

    read = forked.start(guarded, READ_TIMEOUT_S)
    try:
        return int(read())
    except forked.Crashed as exc:
        if exc.timed_out:
            late = f"reading the file did not finish in {READ_TIMEOUT_S:.0f} s; it is probably damaged"
            raise input_error(path, late) from None
        raise input_error(path, f"not a readable {kind} file (damaged: the reader crashed on it)") from None


def _expand(
    path: str,
    fmt: str,
    tree: _Tree,
    precision: float,
    want: tuple[int, int] | None,
    cell: str | None,
    max_shapes: int,
    list_layers: bool,
    unfiltered: Callable[[], _Tree],
) -> RawLayout:
    """The chosen cell's shapes on the pad layer, each cell's once, with every transform placing it.
    `unfiltered` gives the whole library when `tree` was read for the pad layer alone."""
    grid_um = float(f"{precision / 1e-6:.12g}")  # 1e-10 m is 1e-04 um, not 9.999999999999999e-05
    top = _choose_top(path, tree, cell)
    order = _order(path, tree, top)
    counts = _placement_counts(tree, order)
    layers: dict[str, int] = _layer_counts(tree, order, counts) if (list_layers or want is None) else {}
    if want is None:
        if len(layers) != 1:
            present = ", ".join(f"{k} ({v})" for k, v in layers.items()) or "none"
            raise UsageError(f"{path}: choose the pad layer with --layer (layer= in Python); layers present: {present}")
        want = parse_gds_layer(next(iter(layers)))

    # counted before anything is made: a reference arrayed a billion times is refused, not expanded
    sizes = {name: tree.shape_count(name, want) for name in order}
    total = sum(sizes[name] * counts.get(name, 0) for name in order)
    if total > max_shapes:
        raise InputError(
            f"{path}: layer {want[0]}/{want[1]} expands to {total:,} shapes, above the limit of "
            f"{max_shapes:,} (raise it with --max-contacts)"
        )
    local: dict[str, Polygons] = {}
    for name in order:
        if sizes[name]:
            polys = tree.polygons(name, want)
            if len(polys):
                local[name] = polys
    # cells whose subtree holds the layer: only those are expanded
    holds: dict[str, bool] = {}
    for name in reversed(order):
        holds[name] = name in local or any(holds.get(child, False) for child, _s in tree.refs(name))
    transforms: dict[str, list[np.ndarray]] = {top: [np.array([[[1.0, 0, 0], [0, 1.0, 0]]])]}
    for name in order:
        if not holds[name] or name not in transforms:
            continue
        mine = np.concatenate(transforms[name])
        for child, ref in tree.placed(name):
            if holds.get(child, False):
                transforms.setdefault(child, []).append(_compose(mine, ref.transforms()))
    on_grid = tree.on_grid(grid_um)
    parts = [
        Placed(local[name], np.concatenate(transforms[name]), on_grid) for name in sorted(local) if name in transforms
    ]
    if not parts:
        if not layers:  # the read may have been filtered to the pad layer: list the layers of the whole
            whole = unfiltered()
            order = _order(path, whole, _choose_top(path, whole, top))
            layers = _layer_counts(whole, order, _placement_counts(whole, order))
        present = ", ".join(f"{k} ({v})" for k, v in layers.items()) or "none"
        raise input_error(path, f"no shapes on layer {want[0]}/{want[1]} in cell {top!r}; layers present: {present}")
    for p in parts:
        if not np.isfinite(p.polygons.coords).all() or not np.isfinite(p.transforms).all():
            raise input_error(path, "non-finite coordinates")
    return RawLayout(
        path=path,
        format=fmt,
        cell=top,
        layer=f"{want[0]}/{want[1]}",
        grid_um=grid_um,
        parts=parts,
        layers=layers,
        cells=sorted(tree.names),
    )
