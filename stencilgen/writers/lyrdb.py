"""The findings as a KLayout report database (`.lyrdb`), written through KLayout's own `rdb` module so
that KLayout's marker browser opens it beside the stencil: one category per finding code, one item per
finding with its shape (the aperture, or the contact where there is none) in micrometres and its message."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import OutputError


@dataclass(frozen=True)
class Marker:
    """One finding to mark: its code, the shape (vertices in um) and the message."""

    code: str
    shape: np.ndarray  # (k, 2) um
    message: str


def _text(text: str) -> str:
    """Text KLayout can store: a file name's undecodable bytes (kept by Python as surrogates) become
    U+FFFD, as the other reports show them."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def write_lyrdb(
    path: str,
    cell: str,
    categories: dict[str, str],
    markers: list[Marker],
    *,
    description: str = "",
    original_file: str = "",
    generator: str = "",
) -> None:
    """Write the report database: `categories` maps each code to its description (in the order given,
    codes without markers too), `cell` is the top cell the markers sit in (the stencil's own)."""
    import klayout.db as kdb
    import klayout.rdb as rdb

    db = rdb.ReportDatabase("stencilgen")
    db.description = _text(description)
    db.original_file = _text(original_file)
    db.generator = _text(generator)
    db.top_cell_name = _text(cell)
    cell_id = db.create_cell(_text(cell)).rdb_id()
    cats = {}
    for code, text in categories.items():
        cat = db.create_category(code)
        cat.description = text
        cats[code] = cat.rdb_id()
    for m in markers:
        item = db.create_item(cell_id, cats[m.code])
        pts = [kdb.DPoint(x, y) for x, y in np.asarray(m.shape, dtype=float).tolist()]
        if len(pts) >= 3:
            item.add_value(kdb.DPolygon(pts))
        item.add_value(_text(m.message))
    try:
        db.save(path)  # (a temporary file of the set the run writes: writers.fileset)
    except (OSError, RuntimeError) as exc:
        raise OutputError(f"{path}: cannot be written ({exc})") from None
