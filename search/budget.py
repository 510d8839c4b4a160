"""Budgets: ``20mJ``, ``20 mJ``, ``0.02J``, ``5ms``, ``5000us`` -> a limit in the device's unit.

Units are case-sensitive, as SI prefixes are: ``mJ`` is millijoules, ``MJ`` would be
megajoules, so ``20MJ`` or ``5Ms`` is an error with a hint, never read as mJ / ms. Accepted:
``J``, ``mJ``, ``uJ`` (``µJ``) for energy; ``s``, ``ms``, ``us`` (``µs``) for latency; with or
without a space between number and unit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from hwnas.errors import HwnasUsageError

# unit -> (metric, factor to the metric's base unit: ms for latency, mJ for energy)
UNITS: dict[str, tuple[str, float]] = {
    "s": ("latency", 1e3), "ms": ("latency", 1.0), "us": ("latency", 1e-3), "µs": ("latency", 1e-3),
    "μs": ("latency", 1e-3),
    "J": ("energy", 1e3), "mJ": ("energy", 1.0), "uJ": ("energy", 1e-3), "µJ": ("energy", 1e-3),
    "μJ": ("energy", 1e-3),
}
BASE_UNIT = {"latency": "ms", "energy": "mJ", "flops": "FLOPs", "params": "params"}
EXAMPLE = {"latency": "5ms", "energy": "20mJ", "flops": "600M", "params": "3.5M"}
ARTICLE = {"latency": "a latency", "energy": "an energy", "flops": "a FLOPs count", "params": "a parameter count"}
COUNT_METRICS = ("flops", "params")  # device-independent budgets: counts with an SI multiplier
COUNT_PREFIX = {"": 1.0, "K": 1e3, "k": 1e3, "M": 1e6, "G": 1e9, "B": 1e9}
COUNT_WORDS = {"flops": ("FLOPs", "FLOPS", "flops", "MACs", "macs"), "params": ("params", "parameters", "P")}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)?\s*$")


@dataclass(frozen=True)
class Budget:
    """An upper limit on one hardware metric: ``limit`` in `BASE_UNIT` (ms or mJ)."""

    metric: str
    limit: float
    text: str  # what the user wrote

    @property
    def unit(self) -> str:
        return BASE_UNIT[self.metric]

    def __str__(self) -> str:
        return f"{self.metric} <= {self.limit:g} {self.unit}"


def _valid_units(metric: str) -> str:
    return ", ".join(u for u, (m, _) in UNITS.items() if m == metric and u.isascii())


def _unit_hint(unit: str, metric: str) -> str:
    """Why ``unit`` is not accepted and what was probably meant."""
    folded = {u.lower(): u for u, (m, _) in UNITS.items() if u.isascii()}
    meant = folded.get(unit.lower())
    if meant is None:
        return f"use one of {_valid_units(metric)}"
    if unit[0] == "M" and unit[1:] == meant[1:]:
        base = "joules" if UNITS[meant][0] == "energy" else "seconds"
        return f"units are case-sensitive ({unit} would be mega{base}); did you mean {meant}?"
    return f"units are case-sensitive; did you mean {meant}?"


def _shown_and_example(text: object, metric: str, flag: str) -> tuple[str, str]:
    """How a message quotes the argument (``--energy '20MJ'`` / ``energy='20MJ'``) and an example."""
    if flag.endswith("="):
        return f"{flag}{text!r}", f"{flag}{EXAMPLE[metric]!r}"
    return f"{flag} {text!r}", f"{flag} {EXAMPLE[metric]}"


def parse_budget(text: object, metric: str, name: str | None = None) -> Budget:
    """``text`` (e.g. ``20mJ``, ``0.02 J``, ``5000us``) as a `Budget` on ``metric``.

    A missing, foreign or mis-cased unit, a non-number, or a value that is not a positive
    finite amount is a one-line usage error. ``name`` is how the message names the argument
    (default ``--energy`` / ``--latency``; the Python API passes ``energy=`` etc.)."""
    flag = name or f"--{metric}"
    if metric in COUNT_METRICS:
        return parse_count_budget(text, metric, flag)
    shown, example = _shown_and_example(text, metric, flag)
    if not isinstance(text, str):
        raise HwnasUsageError(f"{shown}: a budget is text with a unit, e.g. {example}")
    m = _NUMBER.match(text)
    if not m:
        raise HwnasUsageError(f"{shown} is not a number with a unit; write e.g. {example}")
    value, unit = float(m.group(1)), (m.group(2) or "").strip()
    if not unit:
        fixed = f"{m.group(1)}{BASE_UNIT[metric]}"
        raise HwnasUsageError(f"{shown} has no unit; write e.g. "
                              + (f"{flag}{fixed!r}" if flag.endswith("=") else f"{flag} {fixed}"))
    if unit not in UNITS:
        raise HwnasUsageError(f"{shown}: unknown unit {unit!r}; {_unit_hint(unit, metric)}")
    unit_metric, factor = UNITS[unit]
    if unit_metric != metric:
        raise HwnasUsageError(f"{shown} is {ARTICLE[unit_metric]}, not {ARTICLE[metric]}; write e.g. {example}")
    limit = value * factor
    if not math.isfinite(limit):
        raise HwnasUsageError(f"{shown} is not finite; a budget is a positive amount, e.g. {example}")
    if limit <= 0:
        raise HwnasUsageError(f"{shown}: a budget must be a positive amount, e.g. {example}")
    return Budget(metric, limit, text.strip())


def budget_from_number(value: object, metric: str, name: str) -> Budget:
    """A budget given as a number in the base unit (``energy_mj=20``); ``name`` e.g. ``energy_mj=``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise HwnasUsageError(f"{name}{value!r}: give a number of {BASE_UNIT[metric]}, e.g. "
                              f"{name}{EXAMPLE[metric][:-len(BASE_UNIT[metric])]}")
    limit = float(value)
    if not math.isfinite(limit):
        raise HwnasUsageError(f"{name}{value!r} is not finite; a budget is a positive amount")
    if limit <= 0:
        raise HwnasUsageError(f"{name}{value!r}: a budget must be a positive amount")
    return Budget(metric, limit, f"{limit!r}{BASE_UNIT[metric]}")


def parse_count_budget(text: object, metric: str, flag: str) -> Budget:
    """A FLOPs or parameter budget: ``600M``, ``1.2G``, ``600MFLOPs``, ``3.5M``, ``3500000``,
    ``3.5Mparams`` -> a `Budget` in FLOPs (multiply-accumulates per sample) or parameters.
    Prefixes K/k (1e3), M (1e6), G/B (1e9); ``m`` is refused (milli is never meant)."""
    shown, example = _shown_and_example(text, metric, flag)
    if not isinstance(text, str):
        raise HwnasUsageError(f"{shown}: give a count, e.g. {example}")
    m = _NUMBER.match(text)
    if not m:
        raise HwnasUsageError(f"{shown} is not a number; write e.g. {example}")
    value, rest = float(m.group(1)), (m.group(2) or "").strip()
    prefix = ""
    for word in COUNT_WORDS[metric]:
        if rest.endswith(word):
            rest = rest[: -len(word)].strip()
            break
    if rest:
        prefix = rest
    if prefix not in COUNT_PREFIX:
        hint = " (m is milli; did you mean M?)" if prefix == "m" else ""
        raise HwnasUsageError(f"{shown}: unknown multiplier {prefix!r}{hint}; use K, M or G, e.g. {example}")
    limit = value * COUNT_PREFIX[prefix]
    if not math.isfinite(limit) or limit <= 0:
        raise HwnasUsageError(f"{shown}: a budget must be a positive, finite count, e.g. {example}")
    return Budget(metric, limit, text.strip())
