"""`ArchCatalog`: the integer ids a search run uses for architectures.

The run loop, the cost tables and the archive bookkeeping address architectures by integer id.
A space with a published index (NAS-Bench-201: 0..15,624) uses that index, so ids are the same
in every run and a whole-space cost table is one array. A space too large to index in int64
(FBNet: 9^22 networks; MobileNetV2) gets run-local ids, handed out in order of first appearance:
id 0 is the first architecture the run evaluated. Ids are never written to a file as if they
meant anything outside the run; files carry the architecture string.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from hwnas.spaces.base import Arch, Space


class ArchCatalog:
    """Architecture <-> integer id for one run over ``space`` (see module doc)."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.indexed = bool(getattr(space, "indexed", False))
        self._archs: list[Arch] = []
        self._ids: dict[tuple[int, ...], int] = {}

    def id_of(self, arch: Arch) -> int:
        """The id of ``arch`` (its canonical representative's, for spaces with isomorphisms)."""
        arch = self.space.canonical(arch)
        if self.indexed:
            return int(self.space.index(arch))
        found = self._ids.get(arch.genotype)
        if found is None:
            found = len(self._archs)
            self._ids[arch.genotype] = found
            self._archs.append(arch)
        return found

    def ids_of_genotypes(self, X: np.ndarray) -> list[int]:
        """Ids of the canonical representatives of the genotypes in the rows of ``X``."""
        return [self.id_of(self.space.from_genotype(x)) for x in np.asarray(X, dtype=np.int64)]

    def arch(self, i: int) -> Arch:
        if self.indexed:
            return self.space.arch_at(int(i))  # type: ignore[attr-defined]
        return self._archs[int(i)]

    def ref(self, i: int) -> str:
        """Text that ``space.parse`` reads back as architecture ``i`` (its index or its string):
        what crosses a process boundary to a scoring worker."""
        return str(int(i)) if self.indexed else self.space.to_str(self._archs[int(i)])

    def genotypes(self, ids: Iterable[int]) -> np.ndarray:
        """Genotypes [n, n_var] (int64) of ``ids``."""
        rows = [self.arch(int(i)).genotype for i in ids]
        n_var = len(self.space.genotype_bounds[0])
        return np.array(rows, dtype=np.int64).reshape(len(rows), n_var)

    def published_index(self, i: int) -> int | None:
        """The space's own index of ``i`` where it has one (NB201), else None."""
        return int(i) if self.indexed else None

    def __len__(self) -> int:
        return self.space.num_archs if self.indexed else len(self._archs)
