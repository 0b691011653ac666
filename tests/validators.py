"""Independent readers of the stencil files (see ../shared/VALIDATORS.md), each used as its traps allow."""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from dataclasses import dataclass

import numpy as np


@dataclass
class Reading:
    count: int
    area_um2: float
    areas_um2: np.ndarray  # per shape, sorted by centre (y, x)
    centers: np.ndarray


def _region_reading(region, dbu: float) -> Reading:
    return _polygons_reading(list(region.each()), dbu)


def _polygons_reading(polys: list, dbu: float) -> Reading:
    areas = np.array([p.area() * dbu * dbu for p in polys])
    centers = np.array([[p.bbox().center().x * dbu, p.bbox().center().y * dbu] for p in polys]).reshape(-1, 2)
    order = np.lexsort((np.round(centers[:, 0], 2), np.round(centers[:, 1], 2))) if len(polys) else np.zeros(0, int)
    return Reading(len(polys), float(areas.sum()), areas[order], centers[order])


def klayout_gerber_polygons(path: str) -> tuple[list, float]:
    """KLayout's reading of a Gerber through a small PCB project file (in a folder of its own, so that
    nothing is written beside the file): its dark shapes as KLayout polygons, and the database unit."""
    import shutil
    import tempfile

    import klayout.db as db

    folder = tempfile.mkdtemp(prefix="gerber-project-")
    project = os.path.join(folder, "p.gbrx")
    with open(project, "w") as fh:
        fh.write(
            '<?xml version="1.0" encoding="utf-8"?>\n<pcb-project>\n'
            " <free-layer-mapping>true</free-layer-mapping>\n"
            " <layout-layers><layout-layer>1/0</layout-layer></layout-layers>\n"
            f" <free-files><free-file><filename>{os.path.relpath(os.path.abspath(path), folder)}</filename>"
            "<layout-layers><index>0</index></layout-layers></free-file></free-files>\n"
            " <dbu>0.001</dbu>\n <num-circle-points>512</num-circle-points>\n"
            " <merge-flag>false</merge-flag>\n <cell-name>PCB</cell-name>\n</pcb-project>\n"
        )
    try:
        ly = db.Layout()
        ly.read(project)
        region = db.Region(ly.top_cell().begin_shapes_rec(ly.layer(1, 0)))
        return list(region.each()), ly.dbu
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def klayout_gerber(path: str) -> Reading:
    """KLayout reads a Gerber through a small PCB project file."""
    return _polygons_reading(*klayout_gerber_polygons(path))


def klayout_dxf(path: str, layer: str = "STENCIL", unit_um: float = 1000.0) -> Reading:
    import klayout.db as db

    ly = db.Layout()
    opts = db.LoadLayoutOptions()
    opts.dxf_unit = unit_um
    opts.dxf_polyline_mode = 4
    opts.dxf_circle_points = 512
    ly.read(path, opts)
    idx = [ly.layer(info) for info in ly.layer_infos() if info.name == layer]
    region = db.Region()
    for li in idx:
        region += db.Region(ly.top_cell().begin_shapes_rec(li))
    return _region_reading(region, ly.dbu)


def klayout_gds(path: str, layer: tuple[int, int] = (1, 0)) -> Reading:
    import klayout.db as db

    ly = db.Layout()
    ly.read(path)
    region = db.Region(ly.top_cell().begin_shapes_rec(ly.layer(*layer)))
    return _region_reading(region, ly.dbu)


def gdstk_gds(path: str, layer: tuple[int, int] = (1, 0)) -> Reading:
    import gdstk

    lib = gdstk.read_gds(path)
    polys = lib.top_level()[0].get_polygons(layer=layer[0], datatype=layer[1])
    areas = np.array([p.area() for p in polys])
    centers = np.array([p.points.mean(axis=0) for p in polys]).reshape(-1, 2)
    order = np.lexsort((np.round(centers[:, 0], 2), np.round(centers[:, 1], 2)))
    return Reading(len(polys), float(areas.sum()), areas[order], centers[order])


def gerbv_problems(path: str, gerbv: str = "gerbv") -> list[str]:
    """gerbv always exits 0: its verdict is stderr. X2 attribute lines are the only accepted noise."""
    out = os.path.splitext(path)[0] + ".gerbv.png"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    r = subprocess.run(
        [gerbv, "-x", "png", "-D", "2540", "-B", "0", "-o", out, path], capture_output=True, text=True, env=env
    )
    ok_noise = re.compile(r"Unknown RS-274X extension found %T[FAOD]%")
    bad = [ln for ln in r.stderr.splitlines() if ("CRITICAL" in ln or "WARNING" in ln) and not ok_noise.search(ln)]
    if not os.path.exists(out) or os.path.getsize(out) == 0:
        bad.append("gerbv wrote no image")
    return bad


def pygerber_strict(path: str) -> None:
    from pygerber.gerberx3.api.v2 import GerberFile, OnParserErrorEnum

    GerberFile.from_file(path).parse(on_parser_error=OnParserErrorEnum.Raise)


def gerbonara_file_attrs(path: str) -> dict:
    import gerbonara

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = gerbonara.GerberFile.open(path)
    return {"attrs": dict(g.file_attrs), "objects": len(g.objects)}


def ezdxf_strict(path: str) -> tuple[int, int, list]:
    """Strict read plus audit: (errors, fixes, modelspace entities)."""
    import ezdxf

    doc = ezdxf.readfile(path)
    auditor = doc.audit()
    return len(auditor.errors), len(auditor.fixes), list(doc.modelspace())


def gerbv_area_um2(path: str, gerbv: str = "gerbv", dpi: int = 25400) -> float:
    """Area gerbv renders (pixels lit at `dpi`, 25400 dpi = 1 um per pixel)."""
    from PIL import Image

    out = os.path.splitext(path)[0] + ".area.png"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    subprocess.run(
        [gerbv, "-x", "png", "-D", str(dpi), "-B", "0", "-f", "#FFFFFF", "-b", "#000000", "-o", out, path],
        capture_output=True,
        env=env,
        check=True,
    )
    lit = int((np.asarray(Image.open(out).convert("L")) > 64).sum())
    return lit * (25400.0 / dpi) ** 2
