"""Budgets: ``20mJ``, ``20 mJ``, ``0.02J``, ``5ms``, ``5000us`` -> a limit in the device's unit."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from hwnas.errors import HwnasUsageError

# unit -> (metric, factor to the metric's base unit: ms for latency, mJ for energy)
UNITS: dict[str, tuple[str, float]] = {
    "s": ("latency", 1e3), "sec": ("latency", 1e3), "ms": ("latency", 1.0),
    "us": ("latency", 1e-3), "µs": ("latency", 1e-3), "μs": ("latency", 1e-3), "ns": ("latency", 1e-6),
    "j": ("energy", 1e3), "mj": ("energy", 1.0), "uj": ("energy", 1e-3), "µj": ("energy", 1e-3),
    "μj": ("energy", 1e-3), "nj": ("energy", 1e-6),
}
BASE_UNIT = {"latency": "ms", "energy": "mJ"}
EXAMPLE = {"latency": "5ms", "energy": "20mJ"}
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


def parse_budget(text: str, metric: str) -> Budget:
    """``text`` (e.g. ``20mJ``, ``0.02 J``, ``5000us``) as a `Budget` on ``metric``.

    A missing or foreign unit, a non-number, or a value <= 0 is a one-line usage error."""
    flag = f"--{metric}"
    m = _NUMBER.match(str(text))
    if not m:
        raise HwnasUsageError(f"{flag} {text!r} is not a number with a unit; write e.g. {flag} {EXAMPLE[metric]}")
    value, unit = float(m.group(1)), (m.group(2) or "").strip()
    if not unit:
        raise HwnasUsageError(f"{flag} {text!r} has no unit; write e.g. {flag} {m.group(1)}{BASE_UNIT[metric]}")
    key = unit.lower()
    if key not in UNITS:
        valid = ", ".join(u for u, (mm, _) in UNITS.items() if mm == metric and u.isascii())
        raise HwnasUsageError(f"{flag} {text!r}: unknown unit {unit!r}; use one of {valid}")
    unit_metric, factor = UNITS[key]
    if unit_metric != metric:
        raise HwnasUsageError(f"{flag} {text!r} is a {unit_metric}, not an {metric}; "
                              f"write e.g. {flag} {EXAMPLE[metric]}")
    limit = value * factor
    if not math.isfinite(limit) or limit <= 0:
        raise HwnasUsageError(f"{flag} {text!r}: a budget must be a positive amount, e.g. {flag} {EXAMPLE[metric]}")
    return Budget(metric, limit, str(text).strip())
