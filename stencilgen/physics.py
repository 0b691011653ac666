"""Every formula of RULES.md once (rules 6 and 7): the volume limit, the solder an aperture gives and its
transfer band, the reflowed cap height, the area and aspect ratios, the thickest passing foil and the
five-ball width; and for two-region masses the alloys' metal volume fraction, the joining reflow window and
a mass's limit. Lengths in um, areas in um^2, volumes in um^3, temperatures in C. The planner and the checks
both use these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .rules import Rules

#: paste type -> (largest particle um, narrowest aperture for five particles um)
PASTE_TYPES: dict[int, tuple[float, float]] = {
    3: (45.0, 225.0),
    4: (38.0, 190.0),
    5: (25.0, 125.0),
    6: (15.0, 75.0),
    7: (11.0, 55.0),
    8: (8.0, 40.0),
}


def five_ball_width(paste_type: int) -> float:
    """The narrowest aperture width that holds five of the paste's largest particles (rule 7)."""
    return PASTE_TYPES[paste_type][1]


def volume_limit(d: np.ndarray, cap: np.ndarray | None = None) -> np.ndarray:
    """V_limit = pi d^3 / 6: the volume of a sphere of the contact's minimum dimension (rule 6); `cap`
    (um^3 per contact, or None) lowers it where a contact shares its mass with another print."""
    v = np.pi * np.asarray(d, dtype=float) ** 3 / 6.0
    return v if cap is None else np.minimum(v, np.maximum(np.asarray(cap, dtype=float), 0.0))


def solder_volume(
    area: np.ndarray, rules: Rules, efficiency: float | None = None, thickness: float | None = None
) -> np.ndarray:
    """V_solder = A * thickness * transfer efficiency * metal volume fraction (nominal efficiency
    unless one is given: the band's ends are transfer_efficiency_min and _max)."""
    te = rules.transfer_efficiency if efficiency is None else efficiency
    t = rules.thickness_um if thickness is None else thickness
    return np.asarray(area, dtype=float) * t * te * rules.metal_volume_fraction


def area_for_volume(volume: np.ndarray, rules: Rules, efficiency: float) -> np.ndarray:
    """The aperture area that gives `volume` at transfer efficiency `efficiency` (solder_volume inverted)."""
    return np.asarray(volume, dtype=float) / (rules.thickness_um * efficiency * rules.metal_volume_fraction)


def target_area(d: np.ndarray, rules: Rules, cap: np.ndarray | None = None) -> np.ndarray:
    """The area the planner aims for: volume_target * V_limit at nominal transfer, never above the
    limit at the top of the band (rule 6)."""
    v_lim = volume_limit(d, cap)
    a_target = area_for_volume(rules.volume_target * v_lim, rules, rules.transfer_efficiency)
    return np.minimum(a_target, limit_area(d, rules, cap))


def least_area(d: np.ndarray, rules: Rules, cap: np.ndarray | None = None) -> np.ndarray:
    """The smallest area that keeps volume_min * V_limit at the bottom of the transfer band: below it a
    contact is under_volume (rule 6)."""
    return area_for_volume(rules.volume_min * volume_limit(d, cap), rules, rules.transfer_efficiency_min)


#: the planner stays this fraction under V_limit at the top of the band: the written outlines (arcs as
#: chords that hold them, coordinates on the database grid) and their readers' arcs add up to 1e-4 of
#: an aperture's area
LIMIT_MARGIN = 1e-3


def limit_area(d: np.ndarray, rules: Rules, cap: np.ndarray | None = None) -> np.ndarray:
    """The largest area the planner gives an aperture: V_limit at the top of the transfer band, less
    LIMIT_MARGIN, so that the stencil as written and read again keeps the limit too."""
    return area_for_volume(volume_limit(d, cap), rules, rules.transfer_efficiency_max) * (1 - LIMIT_MARGIN)


def cap_height(volume: np.ndarray, contact_area: np.ndarray) -> np.ndarray:
    """h solving V = pi h (3 a^2 + h^2) / 6, a the radius of the circle of the contact's area (Cardano)."""
    a2 = np.asarray(contact_area, dtype=float) / np.pi
    q = 3 * np.asarray(volume, dtype=float) / np.pi
    root = np.sqrt(q * q + a2**3)
    return np.cbrt(q + root) + np.cbrt(q - root)


def area_ratio(area: np.ndarray, perimeter: np.ndarray, thickness: float) -> np.ndarray:
    """IPC-7525 area ratio A / (perimeter * thickness); 0 for an aperture without a perimeter."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(perimeter > 0, area / (perimeter * thickness), 0.0)


def aspect_ratio(width: np.ndarray, thickness: float) -> np.ndarray:
    """IPC-7525 aspect ratio width / thickness."""
    return np.asarray(width, dtype=float) / thickness


def max_thickness(area: np.ndarray, perimeter: np.ndarray, width: np.ndarray, rules: Rules) -> np.ndarray:
    """The thickest foil at which an aperture still passes the area and aspect ratios (rule 7)."""
    by_area = (
        np.where(perimeter > 0, area / np.maximum(perimeter, 1e-12) / rules.area_ratio_min, 0.0)
        if rules.area_ratio_min > 0
        else np.inf
    )
    by_width = width / rules.aspect_ratio_min if rules.aspect_ratio_min > 0 else np.inf
    return np.minimum(by_area, by_width)


# ---------------------------------------------------------------------------- two-region masses


@dataclass(frozen=True)
class Alloy:
    """A solder alloy of RULES.md's table (or a rules file's [alloys.NAME]): C and g/cm^3."""

    name: str
    solidus_c: float
    liquidus_c: float
    density_g_cm3: float


def metal_volume_fraction(alloy: Alloy, metal_weight_fraction: float, flux_density_g_cm3: float) -> float:
    """The paste's metal volume fraction from its metal weight fraction and the two densities:
    (w / rho_metal) / (w / rho_metal + (1 - w) / rho_flux)."""
    metal = metal_weight_fraction / alloy.density_g_cm3
    flux = (1.0 - metal_weight_fraction) / flux_density_g_cm3
    return metal / (metal + flux)


def reflow_window(first: Alloy, second: Alloy, wetting_margin_c: float, melt_gap_c: float) -> tuple[float, float]:
    """The joining reflow's window (C): from the second alloy's liquidus + wetting_margin_c to the
    first alloy's solidus - melt_gap_c. Closed (empty) when the high end lies below the low one."""
    return second.liquidus_c + wetting_margin_c, first.solidus_c - melt_gap_c


def pair_volume_limit(d_first: np.ndarray, d_second: np.ndarray) -> np.ndarray:
    """A two-region mass's limit: pi d^3 / 6 of the smaller of the contact's and the pad's d."""
    return volume_limit(np.minimum(np.asarray(d_first, dtype=float), np.asarray(d_second, dtype=float)))
