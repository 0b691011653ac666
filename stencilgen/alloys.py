"""The solder alloys `pair` knows: RULES.md's table (shipped as alloys.toml) with a rules file's
[alloys.NAME] over it. Names are found whatever their case, and by their aliases (SAC305 is also
Sn96.5Ag3Cu0.5)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from .errors import UsageError
from .physics import Alloy

if TYPE_CHECKING:  # the rules read [alloys.NAME] over this table
    from .rules import Rules


@cache
def _shipped() -> tuple[dict[str, Alloy], dict[str, str], dict[str, list[str]]]:
    """The shipped alloys by name, their aliases (lower case) to their names, and each name's aliases."""
    data = tomllib.loads(resources.files("stencilgen").joinpath("alloys.toml").read_text("utf-8"))
    alloys, aliases, written = {}, {}, {}
    for name, t in data.items():
        alloys[name] = Alloy(name, float(t["solidus_c"]), float(t["liquidus_c"]), float(t["density_g_cm3"]))
        written[name] = list(t.get("aliases", []))
        for alias in written[name]:
            aliases[alias.lower()] = name
    return alloys, aliases, written


def shipped_alloys() -> dict[str, Alloy]:
    """RULES.md's alloy table, by name."""
    return dict(_shipped()[0])


def alloy_table(rules: Rules) -> dict[str, Alloy]:
    """Every alloy known under `rules`: the shipped table with the rules file's alloys added or over it."""
    table = {k.lower(): a for k, a in shipped_alloys().items()}
    for a in rules.alloys:
        table[a.name.lower()] = a
    return {a.name: a for a in sorted(table.values(), key=lambda a: a.name.lower())}


def find_alloy(name: str, rules: Rules, option: str = "alloy") -> Alloy:
    """The alloy called `name` (any case, or an alias); an unknown name is a usage error listing the known."""
    table = {k.lower(): a for k, a in alloy_table(rules).items()}
    key = name.strip().lower()
    alias = _shipped()[1].get(key)
    if key not in table and alias is not None:
        key = alias.lower()
    if key not in table:
        also = _shipped()[2]  # (a shipped alloy's aliases, beside its name)
        known = ", ".join(f"{a} ({', '.join(also[a])})" if also.get(a) else a for a in alloy_table(rules))
        raise UsageError(f"{option} {name!r}: unknown alloy; known: {known} (a rules file adds one with [alloys.NAME])")
    return table[key]
