"""What ``hwnas eval proxies`` (and a search) is asked to score: the parsed ``--proxies`` request
(`parse_request`), the score columns of a proxy (`outputs_of`) and how proxies are grouped into
timed calls (`proxy_groups`). Reads only proxy metadata: no torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from hwnas.errors import HwnasUsageError


@dataclass(frozen=True)
class Request:
    """Parsed ``--proxies``: single proxies (canonical names, in order) and rank aggregates
    (label, member proxy names). `proxies` is every proxy that must be scored."""

    singles: tuple[str, ...]
    aggregates: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def proxies(self) -> tuple[str, ...]:
        names = list(self.singles)
        for _, members in self.aggregates:
            names += [m for m in members if m not in names]
        return tuple(dict.fromkeys(names))


def parse_request(names: "str | Sequence[str]", aggregates: Sequence[str] = ()) -> Request:
    """``names``: proxy names or aliases (a list, or one comma-separated string); an item
    ``a+b+...`` asks for the Eq. 12 rank aggregate of those proxies. ``aggregates``: more such
    items (the ``--aggregate`` option). Unknown names raise `HwnasUsageError` with close
    matches."""
    from hwnas.proxies import get_proxy

    items = [names] if isinstance(names, str) else list(names)
    parts = [p.strip() for item in items for p in str(item).split(",") if p.strip()]
    for spec in aggregates:
        parts += [p.strip() for p in str(spec).split(",") if p.strip()]
    if not parts:
        raise HwnasUsageError("no proxies given: name at least one (see `hwnas proxies`)")
    singles: list[str] = []
    aggs: list[tuple[str, tuple[str, ...]]] = []
    for part in parts:
        if "+" in part:
            members = tuple(dict.fromkeys(get_proxy(m).name for m in part.split("+") if m.strip()))
            if len(members) < 2:
                raise HwnasUsageError(f"aggregate {part!r} needs at least two different proxies")
            label = "+".join(members)
            if label not in [a for a, _ in aggs]:
                aggs.append((label, members))
        else:
            name = get_proxy(part).name
            if name not in singles:
                singles.append(name)
    return Request(tuple(singles), tuple(aggs))


def proxy_groups(names: Sequence[str], separate: bool = False) -> list[tuple[str, ...]]:
    """How ``names`` are computed, one timed call per group and architecture: every proxy that
    reads the shared pass (``needs`` non-empty: naswot, grad_norm, snip, fisher, jacob_cov, zico
    and the AZ-NAS scores) in ONE group, every other proxy alone. ``separate=True``: each proxy
    alone (honest per-proxy times, at the price of repeating the shared forward pass)."""
    from hwnas.proxies import get_proxy

    proxies = [get_proxy(n) for n in dict.fromkeys(names)]
    if separate:
        return [(p.name,) for p in proxies]
    shared = tuple(p.name for p in proxies if p.needs)
    return ([shared] if shared else []) + [(p.name,) for p in proxies if not p.needs]


def outputs_of(name: str) -> tuple[str, ...]:
    """Score columns of proxy ``name`` (``az_nas``: its four components)."""
    from hwnas.proxies import get_proxy

    return get_proxy(name).outputs
