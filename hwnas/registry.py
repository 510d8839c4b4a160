"""A tiny name -> factory registry, shared by spaces, proxies, predictors and devices."""

from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterator, TypeVar

from hwnas.errors import HwnasUsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names (and aliases) to registered objects; unknown names get close matches suggested."""

    def __init__(self, kind: str, list_command: str | None = None) -> None:
        self.kind = kind
        self.list_command = list_command  # the CLI command that lists them, for long registries
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, aliases: tuple[str, ...] = ()) -> Callable[[T], T]:
        """Decorator: ``@SPACES.register("nb201")`` over a class or function."""

        def deco(obj: T) -> T:
            if name in self._items or name in self._aliases:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            for alias in aliases:
                self._aliases[alias] = name
            return obj

        return deco

    def canonical(self, name: str) -> str:
        """The registered name for ``name`` or one of its aliases (case-insensitive)."""
        key = name.strip().lower()
        if key in self._items:
            return key
        if key in self._aliases:
            return self._aliases[key]
        choices = sorted([*self._items, *self._aliases])
        close = difflib.get_close_matches(key, choices, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        known = sorted(self._items)
        if self.list_command and len(known) > 20:
            listing = f"{len(known)} known: see `{self.list_command}`"
        else:
            listing = f"known: {', '.join(known)}"
        raise HwnasUsageError(f"unknown {self.kind} {name!r}{hint} ({listing})")

    def get(self, name: str) -> T:
        return self._items[self.canonical(name)]

    def names(self) -> list[str]:
        return sorted(self._items)

    def aliases_of(self, name: str) -> list[str]:
        return sorted(a for a, n in self._aliases.items() if n == name)

    def __contains__(self, name: str) -> bool:
        try:
            self.canonical(name)
        except HwnasUsageError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
