"""The planning rules of RULES.md as one frozen dataclass, with their defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rules:
    """Every number of RULES.md; lengths in um, angles in degrees, temperatures in C."""

    # rows and corners
    row_tolerance_um: float = 2.0
    corner_reach: float = 3.0  # in pitches
    corner_min_angle_deg: float = 30.0
    spacing_tolerance: float = 0.05  # a row's spacings may differ from its pitch by this fraction
    max_gap_pitches: int = 2  # a spacing of up to this many pitches is a gap (missing contacts), not a break
    # strips
    fine_pitch_um: float = 125.0
    width_ratio: float = 0.6
    web_min_um: float = 40.0
    max_width_um: float = 100.0
    clearance_um: float = 10.0
    strategy: str = "tip"
    oblique_scope: str = "corners"
    oblique_angle_deg: float | None = None
    # volume
    thickness_um: float = 20.0
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
