"""The planning rules of RULES.md: one frozen dataclass with the defaults, read from and written to TOML.

A rules file holds any subset of the keys below, at the top level or under a `[rules]` table; lengths
may be numbers (micrometres) or strings with a unit ("20um", "0.02mm"). Unknown keys, wrong types and
impossible values are one-line errors naming the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import stat
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from .errors import InputError, StencilgenError, UsageError
from .physics import PASTE_TYPES, Alloy, five_ball_width
from .units import parse_length

#: a row's pitch within this of fine_pitch_um is at it: a pitch is a median of centre distances, which
#: carry the rounding of a turned placement (125 um drawn at 35 deg measures 125.00000000000003 um)
PITCH_TOL_UM = 1e-6


@dataclass(frozen=True)
class Rules:
    """Every number of RULES.md; lengths in um, angles in degrees, temperatures in C."""

    # rows and corners
    row_tolerance_um: float = 2.0
    corner_reach: float = 3.0  # in pitches
    corner_min_angle_deg: float = 30.0
    spacing_tolerance: float = 0.1  # a row's spacings may differ from its pitch by this fraction
    max_gap_pitches: int = 2  # lines bridge spacings of up to this many pitches (missing contacts); rows one more
    row_size_ratio: float = 1.5  # a row's contacts each have d within this factor of the row's median d
    # strips
    fine_pitch_um: float = 125.0
    width_ratio: float = 0.6
    web_min_um: float = 40.0
    max_width_um: float = 100.0
    clearance_um: float = 10.0
    strategy: str = "tip"
    oblique_scope: str = "corners"
    oblique_angle_deg: float | None = None
    oblique_min_deg: float = 30.0  # a corner's common strip direction stays this far from each row
    tip_extension_max: float = 1.0  # in pitches: how far a strip body may run beyond its contact
    # volume
    thickness_um: float = 20.0
    thickness_auto: bool = False  # thickness_um = "auto": plan at each stocked foil, keep the best
    foil_thicknesses_um: tuple[float, ...] = (10.0, 12.0, 15.0, 18.0, 20.0, 25.0, 30.0, 38.0, 50.0)
    step_keep_out: float = 36.0  # in step heights: IPC-7525B's 0.9 mm per 25 um of step
    transfer_efficiency: float = 0.85
    transfer_efficiency_min: float = 0.70
    transfer_efficiency_max: float = 1.00
    metal_volume_fraction: float = 0.50
    volume_target: float = 0.8
    volume_min: float = 0.3
    # printability
    area_ratio_min: float = 0.66
    aspect_ratio_min: float = 1.5
    paste_type: int = 8
    # keep-in and coarse pitch
    edge_margin_um: float = 20.0
    shrink_um: float = 5.0
    overprint_max: float = 0.5  # in d: how far a pad-shaped aperture may grow beyond its contact, per side
    min_aperture_um: float = 15.0  # narrowest printable aperture (its largest inscribed circle)
    # input geometry
    degenerate: str = "repair"  # self-intersecting contacts: "repair" (largest valid part) or "drop"
    max_expanded_mb: float = 2000.0  # a compressed layout (.gz) may expand to this many MB (10^6 bytes)
    # two-region masses (stencilgen pair)
    match_tolerance_um: float = 10.0  # a contact meets a pad when their centres are this close at the placement
    wetting_margin_c: float = 20.0
    melt_gap_c: float = 20.0
    window_min_c: float = 10.0
    metal_weight_fraction: float = 0.885
    flux_density_g_cm3: float = 1.0
    alloys: tuple[Alloy, ...] = ()  # a rules file's [alloys.NAME]: added to the shipped table or overriding it

    @property
    def five_ball_um(self) -> float:
        """The narrowest aperture width that holds five of the paste's largest particles."""
        return five_ball_width(self.paste_type)

    def __new__(cls, *args: Any, **kwargs: Any) -> Rules:
        # (a rule misspelt in code is named with the nearest one, as a rules file's is)
        known = [f.name for f in fields(cls)]
        for key in kwargs:
            if key not in known:
                near = _nearest(key, known)
                hint = f"; did you mean {near}?" if near else ""
                raise TypeError(f"Rules: unknown rule {key!r}{hint} (`stencilgen rules` lists the known ones)")
        return super().__new__(cls)

    def fine(self, pitch: Any) -> Any:
        """Whether a row of this pitch (um; a number or an array) is at fine pitch (rule 2)."""
        return pitch <= self.fine_pitch_um + PITCH_TOL_UM

    def replace(self, **changes: Any) -> Rules:
        """These rules with some changed, checked as a rules file's are; a length may be given with its
        unit as in a rules file ("15um", "0.04mm"), and thickness_um as "auto" (foil choice)."""
        return validate(dataclasses.replace(self, **_changes(changes)))

    @classmethod
    def load(cls, path: str | os.PathLike[str], base: Rules | None = None) -> Rules:
        """The rules of a TOML file (any subset of the keys), over `base` or the defaults."""
        return load_rules(path, base)


#: foils a rules file may list for thickness_um = "auto" (each is planned in full)
MAX_FOILS = 50
LENGTH_KEYS = {f.name for f in fields(Rules) if f.name.endswith("_um")} - {"foil_thicknesses_um"}
#: set through thickness_um = "auto", not a key of its own
HIDDEN = ("thickness_auto",)
CHOICES = {"strategy": ("tip", "offset"), "oblique_scope": ("corners", "all"), "degenerate": ("repair", "drop")}
FRACTIONS = (
    "transfer_efficiency",
    "transfer_efficiency_min",
    "transfer_efficiency_max",
    "metal_volume_fraction",
    "volume_target",
    "volume_min",
    "width_ratio",
    "metal_weight_fraction",
)
POSITIVE = (
    "thickness_um",
    "width_ratio",
    "max_width_um",
    "fine_pitch_um",
    "row_tolerance_um",
    "corner_reach",
    "transfer_efficiency",
    "transfer_efficiency_max",
    "metal_volume_fraction",
    "volume_target",
    "max_expanded_mb",
    "match_tolerance_um",
    "metal_weight_fraction",
    "flux_density_g_cm3",
)
NON_NEGATIVE = (
    "web_min_um",
    "clearance_um",
    "edge_margin_um",
    "shrink_um",
    "area_ratio_min",
    "aspect_ratio_min",
    "tip_extension_max",
    "volume_min",
    "transfer_efficiency_min",
    "spacing_tolerance",
    "step_keep_out",
    "wetting_margin_c",
    "melt_gap_c",
    "window_min_c",
)

DOCS = {
    "row_tolerance_um": "centres within this distance of a line lie on it",
    "corner_reach": "rows meet at a corner when their nearest contacts are within this many pitches",
    "corner_min_angle_deg": "rows meeting at a corner differ in direction by more than this",
    "spacing_tolerance": "a row's spacings may differ from its pitch by this fraction",
    "row_size_ratio": "a row's contacts are alike in size: each d within this factor of the row's median d",
    "max_gap_pitches": "a spacing of up to this many pitches is missing contacts, not a line's end (a row's: one more)",
    "fine_pitch_um": "rows at this pitch or finer get strips; coarser rows get shrunk pads",
    "width_ratio": "strip width = min(width_ratio * contact width, pitch - web_min_um, max_width_um)",
    "web_min_um": "least stencil material between two apertures",
    "max_width_um": "widest strip",
    "clearance_um": "least distance from an aperture to any contact but its own",
    "strategy": '"tip": bulbous tips on alternating sides; "offset": centroids offset alternately',
    "oblique_scope": '"corners": oblique strips where rows meet; "all": one direction for the whole element',
    "oblique_min_deg": "a corner may turn its common strip direction from the bisector, keeping this far from each row",
    "oblique_angle_deg": "force the oblique strip direction (degrees); default: bisector of the rows' normals",
    "tip_extension_max": "a strip body may run this many pitches beyond its contact before its tip grows",
    "thickness_um": 'stencil foil thickness; "auto": plan at each of foil_thicknesses_um and keep the best',
    "foil_thicknesses_um": 'the foils stocked, for thickness_um = "auto"',
    "step_keep_out": "a step stencil keeps apertures this many step heights from the step (IPC-7525B: 36)",
    "transfer_efficiency": "nominal fraction of the aperture's paste that transfers",
    "transfer_efficiency_min": "low end of the transfer band (under-volume is judged here)",
    "transfer_efficiency_max": "high end of the transfer band (the volume limit must hold here)",
    "metal_volume_fraction": "metal volume in the paste",
    "volume_target": "planned solder volume as a fraction of the limit pi*d^3/6",
    "volume_min": "below this fraction of the limit a contact is under_volume",
    "area_ratio_min": "IPC-7525 area ratio: area / (perimeter * thickness)",
    "aspect_ratio_min": "IPC-7525 aspect ratio: width / thickness",
    "paste_type": "paste particle type (3-8); five of its largest particles must fit the narrowest width",
    "edge_margin_um": "apertures stay this far inside the keep-in outline",
    "shrink_um": "pad-shaped apertures (coarse pitch, isolated, area arrays) shrink by at most this much per side",
    "overprint_max": "pad-shaped apertures grow beyond their contact by at most this many d per side (overprint)",
    "min_aperture_um": "narrowest printable aperture (largest inscribed circle); narrower is unprintable",
    "degenerate": 'self-intersecting contact shapes: "repair" (keep the largest valid part) or "drop"',
    "max_expanded_mb": "a compressed layout (.gz) may expand to at most this many MB (10^6 bytes); more is refused",
    "match_tolerance_um": "pair: a contact meets a pad when their centres lie this close at the placement",
    "wetting_margin_c": "pair: the joining reflow starts this far above the second alloy's liquidus",
    "melt_gap_c": "pair: the joining reflow stays this far below the first alloy's solidus",
    "window_min_c": "pair: a joining reflow window narrower than this is a warning",
    "metal_weight_fraction": "pair: metal weight fraction of the paste (gives its metal volume fraction per alloy)",
    "flux_density_g_cm3": "pair: density of the paste's flux",
}


def _err(source: str, key: str, message: str) -> StencilgenError:
    if source:
        return InputError(f"{source}: {key}: {message}")
    return UsageError(f"{key}: {message}")


def _unit_of(key: str) -> str:
    """The unit a rule's name carries, for messages (" um"), or ""."""
    for suffix, unit in (("_um", " um"), ("_deg", " deg"), ("_c", " C"), ("_mb", " MB"), ("_g_cm3", " g/cm3")):
        if key.endswith(suffix):
            return unit
    return ""


def _nearest(key: str, known: Iterable[str]) -> str | None:
    """The known name nearest a misspelt one, if any is near."""
    near = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    return near[0] if near else None


def _unknown(source: str, key: str, known: Iterable[str]) -> StencilgenError:
    """An unknown key, named with the nearest known one."""
    near = _nearest(key, known)
    hint = f"did you mean {near}? " if near else ""
    return _err(source, key, f"unknown key; {hint}`stencilgen rules` lists the known ones")


def _changes(changes: dict[str, Any]) -> dict[str, Any]:
    """`Rules.replace`'s changes as a rules file reads them: a length with its unit, thickness_um "auto";
    an unknown key named with the nearest known one."""
    known = [f.name for f in fields(Rules)]  # (in their order: the nearest of equals is the first)
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in known:
            raise _unknown("", key, known)
        if key == "thickness_um" and isinstance(value, str) and value.strip().lower() == "auto":
            out["thickness_auto"] = True
        elif key in LENGTH_KEYS and isinstance(value, str):
            out[key] = _coerce("", key, value, None)
        else:
            out[key] = value
    return out


def validate(rules: Rules, source: str = "") -> Rules:
    """Refuse impossible values, naming the key; lengths given as text ("15um") and thickness_um "auto"
    read as a rules file reads them (Rules built in code: `Rules(thickness_um="auto")`)."""
    text = {k: getattr(rules, k) for k in LENGTH_KEYS if isinstance(getattr(rules, k), str)}
    if text:
        changes = _changes(text)
        if changes.get("thickness_auto"):
            changes["thickness_um"] = Rules.thickness_um  # (a foil for the fields that read one)
        rules = dataclasses.replace(rules, **changes)
    for key in (*POSITIVE, *NON_NEGATIVE):
        v = getattr(rules, key)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _err(source, key, f"must be a number{_unit_of(key) and ' in' + _unit_of(key)}, got {v!r}")
    for key in POSITIVE:
        v = getattr(rules, key)
        if not (math.isfinite(v) and v > 0):
            raise _err(source, key, f"must be positive, got {v!r}{_unit_of(key)}")
    for key in NON_NEGATIVE:
        v = getattr(rules, key)
        if not (math.isfinite(v) and v >= 0):
            raise _err(source, key, f"must be zero or more, got {v!r}{_unit_of(key)}")
    for key in FRACTIONS:
        v = getattr(rules, key)
        if v > 1:
            raise _err(source, key, f"must be at most 1, got {v!r}")
    for key, allowed in CHOICES.items():
        if getattr(rules, key) not in allowed:
            raise _err(source, key, f"must be one of {', '.join(allowed)}, got {getattr(rules, key)!r}")
    for key in ("paste_type", "max_gap_pitches"):  # (whole numbers: a count, a type)
        v = getattr(rules, key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise _err(source, key, f"must be a whole number, got {v!r}")
    if rules.paste_type not in PASTE_TYPES:
        raise _err(source, "paste_type", f"must be one of {', '.join(map(str, PASTE_TYPES))}, got {rules.paste_type!r}")
    if not (math.isfinite(rules.row_size_ratio) and rules.row_size_ratio >= 1):
        raise _err(source, "row_size_ratio", f"must be 1 or more, got {rules.row_size_ratio!r}")
    if rules.max_gap_pitches < 1:
        raise _err(source, "max_gap_pitches", f"must be 1 or more, got {rules.max_gap_pitches!r}")
    if not rules.transfer_efficiency_min <= rules.transfer_efficiency <= rules.transfer_efficiency_max:
        raise _err(source, "transfer_efficiency", "must lie within [transfer_efficiency_min, transfer_efficiency_max]")
    if rules.volume_min > rules.volume_target:
        raise _err(source, "volume_min", f"must not exceed volume_target ({rules.volume_target})")
    if rules.oblique_angle_deg is not None and not math.isfinite(rules.oblique_angle_deg):
        raise _err(source, "oblique_angle_deg", "must be a finite angle in degrees")
    foils = rules.foil_thicknesses_um
    if not foils or not all(isinstance(t, float) and math.isfinite(t) and 1 <= t <= 500 for t in foils):
        raise _err(source, "foil_thicknesses_um", f"must list foils from 1 to 500 um thick (meant um?), got {foils!r}")
    if rules.thickness_um > 500:
        raise _err(source, "thickness_um", f"{rules.thickness_um:g} um is no stencil foil (at most 500 um; meant um?)")
    if not 0 <= rules.oblique_min_deg < 90:
        raise _err(source, "oblique_min_deg", "must lie between 0 and 90")
    if not 0 < rules.corner_min_angle_deg < 90:
        raise _err(source, "corner_min_angle_deg", "must lie between 0 and 90")
    return rules


def _coerce(source: str, key: str, value: Any, default: Any) -> Any:
    """A TOML value -> the field's type (lengths may carry units)."""
    if key == "foil_thicknesses_um":
        if not isinstance(value, (list, tuple)):
            raise _err(source, key, f"must be a list of thicknesses, got {value!r}")
        if len(value) > MAX_FOILS:
            raise _err(source, key, f"lists {len(value):,} foils; at most {MAX_FOILS} (each is a whole plan)")
        return tuple(sorted({float(_coerce(source, "thickness_um", v, 0.0)) for v in value}))
    if key in LENGTH_KEYS and isinstance(value, str):
        try:
            return parse_length(value)
        except UsageError as exc:
            raise _err(source, key, str(exc)) from None
    if key in CHOICES:
        if not isinstance(value, str):
            raise _err(source, key, f"must be a string, got {type(value).__name__}")
        return value
    if key in ("paste_type", "max_gap_pitches"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _err(source, key, f"must be an integer, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _err(source, key, f"must be a number, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise _err(source, key, "must be a number within range, got an integer too large for one") from None


def rules_from_mapping(data: dict[str, Any], source: str = "", base: Rules | None = None) -> Rules:
    """Rules from a TOML-like mapping; unknown keys are errors."""
    base = base or Rules()
    alloys = data.get("alloys")
    if "rules" in data and isinstance(data["rules"], dict):
        extra = [k for k in data if k not in ("rules", "alloys")]
        if extra:
            raise _err(source, extra[0], "unknown key (rules go at the top level or under [rules])")
        data = data["rules"]
        alloys = data.get("alloys", alloys)
    known = {f.name: f for f in fields(Rules) if f.name not in HIDDEN}
    changes: dict[str, Any] = {}
    if alloys is not None:
        changes["alloys"] = _alloys(source, alloys, base.alloys)
    for key, value in data.items():
        if key == "alloys":
            continue
        if key not in known:
            raise _unknown(source, key, known)
        if key == "thickness_um" and isinstance(value, str) and value.strip().lower() == "auto":
            changes["thickness_auto"] = True  # thickness_um stays: the foil a plain plan would use
            continue
        if key == "thickness_um":
            changes["thickness_auto"] = False
        changes[key] = _coerce(source, key, value, getattr(base, key))
    return validate(dataclasses.replace(base, **changes), source)


#: a rules file is a few dozen lines; anything far larger is not one
MAX_RULES_BYTES = 1 << 20


ALLOY_KEYS = ("solidus_c", "liquidus_c", "density_g_cm3")


def _alloys(source: str, tables: Any, base: tuple[Alloy, ...]) -> tuple[Alloy, ...]:
    """[alloys.NAME] tables -> alloys, over those of `base` (and, key by key, over the shipped table)."""
    from .alloys import shipped_alloys

    if not isinstance(tables, dict):
        raise _err(source, "alloys", "must be a table of tables: [alloys.NAME] with " + ", ".join(ALLOY_KEYS))
    out = {a.name.lower(): a for a in base}
    shipped = {k.lower(): a for k, a in shipped_alloys().items()}
    for name, table in tables.items():
        where = f"alloys.{name}"
        if not isinstance(table, dict):
            raise _err(source, where, "must be a table with " + ", ".join(ALLOY_KEYS))
        unknown = [k for k in table if k not in ALLOY_KEYS]
        if unknown:
            raise _err(source, f"{where}.{unknown[0]}", "unknown key; an alloy has " + ", ".join(ALLOY_KEYS))
        old = out.get(name.lower()) or shipped.get(name.lower())
        values: dict[str, float] = {}
        for key in ALLOY_KEYS:
            if key not in table:
                if old is None:
                    raise _err(source, f"{where}.{key}", "missing (a new alloy needs " + ", ".join(ALLOY_KEYS) + ")")
                values[key] = getattr(old, key)
                continue
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise _err(source, f"{where}.{key}", f"must be a number, got {v!r}")
            values[key] = float(v)
        if values["density_g_cm3"] <= 0:
            raise _err(source, f"{where}.density_g_cm3", f"must be positive, got {values['density_g_cm3']!r}")
        if values["solidus_c"] > values["liquidus_c"]:
            raise _err(source, f"{where}.solidus_c", "must not exceed liquidus_c")
        out[name.lower()] = Alloy(old.name if old is not None else name, **values)
    return tuple(sorted(out.values(), key=lambda a: a.name.lower()))


def load_rules(path: str | os.PathLike[str] | None, base: Rules | None = None) -> Rules:
    """Read a rules file (TOML)."""
    if path is None:
        return base or Rules()
    path = os.fspath(path)
    try:
        # never blocks (a FIFO or a device named by mistake is refused, not waited on)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{path}: no such rules file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: not a regular file (a rules file is TOML text)")
        if st.st_size > MAX_RULES_BYTES:
            raise InputError(f"{path}: {st.st_size:,} bytes, too large for a rules file")
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            data = tomllib.loads(fh.read().decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: not valid TOML (nested too deeply)") from None
    except ValueError as exc:  # (an integer of thousands of digits)
        raise InputError(f"{path}: not valid TOML ({str(exc).split(';')[0]})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    finally:
        if fd >= 0:
            os.close(fd)
    return rules_from_mapping(data, path, base)


def rules_record(rules: Rules) -> dict[str, Any]:
    """The rules as the reports give them (JSON types: the alloys a list of tables)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(rules).items()}


def rules_toml(rules: Rules | None = None) -> str:
    """The rules as commented TOML (what `stencilgen rules` prints)."""
    rules = rules or Rules()
    out = ['# stencilgen rules (RULES.md). Lengths in micrometres unless a unit is given, e.g. "20um".', ""]
    for f in fields(Rules):
        if f.name in HIDDEN or f.name == "alloys":
            continue
        value = getattr(rules, f.name)
        out.append(f"# {DOCS[f.name]}")
        if f.name == "thickness_um" and rules.thickness_auto:
            out.append('thickness_um = "auto"')
        elif isinstance(value, tuple):
            out.append(f"{f.name} = [{', '.join(repr(v) for v in value)}]")
        elif value is None:
            out.append(f"# {f.name} = 45.0")
        elif isinstance(value, str):
            out.append(f'{f.name} = "{value}"')
        else:
            out.append(f"{f.name} = {value!r}")
    out += ["", "# pair: alloys besides (or over) the shipped table (`stencilgen pair --help` lists it), e.g."]
    out += ["# [alloys.Sn99Cu1]", "# solidus_c = 227.0", "# liquidus_c = 227.0", "# density_g_cm3 = 7.3", ""]
    for a in rules.alloys:
        out += [f'[alloys."{a.name}"]'] + [f"{k} = {getattr(a, k)!r}" for k in ALLOY_KEYS] + [""]
    return "\n".join(out).rstrip("\n") + "\n"
