"""The search-space interface (`Space`), the architecture record (`Arch`) and the space registry."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.registry import Registry

if TYPE_CHECKING:  # torch is imported lazily so that `hwnas --help` stays fast
    from torch import nn

    from hwnas.counting import ModelCost


@dataclass(frozen=True, order=True)
class Arch:
    """One architecture: an immutable (space name, integer genotype)."""

    space: str
    genotype: tuple[int, ...]

    def __str__(self) -> str:
        return get_space(self.space).to_str(self)

    def key(self) -> str:
        """Canonical key: isomorphic architectures share it (see `Space.key`)."""
        return get_space(self.space).key(self)


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset means to a model builder: classes and input shape (C, H, W)."""

    name: str
    num_classes: int
    input_shape: tuple[int, int, int]


class Space(abc.ABC):
    """A search space: genotype encoding, canonical key, sampling, and a PyTorch builder."""

    name: str = ""
    description: str = ""
    datasets: dict[str, DatasetSpec] = {}
    # True when every architecture has a published integer index (``index`` / ``arch_at``) that
    # fits int64 (NB201); searches then address architectures by it (`hwnas.search.catalog`)
    indexed: bool = False

    # --- encoding -------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def num_archs(self) -> int:
        """How many architectures the space holds."""

    @property
    @abc.abstractmethod
    def genotype_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Inclusive lower and upper bound of every genotype variable (integers)."""

    @abc.abstractmethod
    def parse(self, text: str) -> Arch:
        """An `Arch` from user text (the space's index or its string form)."""

    @abc.abstractmethod
    def to_str(self, arch: Arch) -> str:
        """The space's readable string of ``arch``."""

    @abc.abstractmethod
    def key(self, arch: Arch) -> str:
        """Canonical key: equal for functionally identical (isomorphic) architectures."""

    def index(self, arch: Arch) -> int | None:
        """The space's published index of ``arch``, where the space has one (else None)."""
        return None

    def canonical(self, arch: Arch) -> Arch:
        """The one member of ``arch``'s isomorphism class (same `key`) that stands for the class
        in searches and archives. Default: ``arch`` itself (spaces without isomorphisms)."""
        return arch

    def from_genotype(self, genotype: "tuple[int, ...] | list[int] | np.ndarray") -> Arch:
        """An `Arch` from an integer genotype, checked against `genotype_bounds`."""
        g = tuple(int(v) for v in genotype)
        lo, hi = self.genotype_bounds
        if len(g) != len(lo) or any(v < a or v > b for v, a, b in zip(g, lo, hi)):
            raise HwnasUsageError(
                f"genotype {list(g)} is not valid for space {self.name!r}: "
                f"expected {len(lo)} integers in [{lo.min()}, {hi.max()}]"
            )
        return Arch(self.name, g)

    def sample(self, rng: np.random.Generator, n: int) -> list[Arch]:
        """``n`` architectures drawn uniformly at random (with replacement)."""
        lo, hi = self.genotype_bounds
        draws = rng.integers(lo, hi + 1, size=(n, len(lo)))
        return [Arch(self.name, tuple(int(v) for v in row)) for row in draws]

    # --- models ---------------------------------------------------------------------
    @property
    def default_dataset(self) -> str:
        """The dataset a command uses when none is given: CIFAR-100 where the space has it (the
        tool's default), else the space's first dataset (MobileNetV2: ImageNet)."""
        return "cifar100" if "cifar100" in self.datasets else next(iter(self.datasets))

    def dataset(self, name: str) -> DatasetSpec:
        key = name.strip().lower()
        if key not in self.datasets:
            raise HwnasUsageError(
                f"unknown dataset {name!r} for space {self.name!r} "
                f"(choose one of: {', '.join(self.datasets)})"
            )
        return self.datasets[key]

    @abc.abstractmethod
    def build(self, arch: Arch, dataset: str) -> "nn.Module":
        """A freshly initialised PyTorch network for ``arch`` on ``dataset``."""

    def cost(self, arch: Arch, dataset: str) -> "ModelCost":
        """Parameters and FLOPs per sample (see `hwnas.counting` for the convention)."""
        from hwnas.counting import model_cost

        return model_cost(self.build(arch, dataset), self.dataset(dataset).input_shape)

    def input_shape(self, dataset: str, batch_size: int = 1) -> tuple[int, int, int, int]:
        """Input tensor shape (N, C, H, W) for ``dataset``."""
        return (batch_size, *self.dataset(dataset).input_shape)


SPACES: Registry[type[Space]] = Registry("search space")

_instances: dict[str, Space] = {}


def get_space(name: str) -> Space:
    """The (cached, stateless) instance of the registered space ``name``."""
    canonical = SPACES.canonical(name)
    if canonical not in _instances:
        _instances[canonical] = SPACES.get(canonical)()
    return _instances[canonical]
