"""NAS-Bench-201 (NATS-Bench topology) search space: 15,625 cells of 6 edges x 5 ops.

Three equivalent names for one architecture:

* index 0..15624 -- the benchmark's own order (shipped table, `hwnas/_data/nb201_archs.npz`);
* arch string   -- ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, edges (1<-0), (2<-0), (2<-1),
  (3<-0), (3<-1), (3<-2);
* genotype      -- 6 integers, the op id of each edge in that order
  (0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3, 4 avg_pool_3x3).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from hwnas.counting import ModelCost
from hwnas.errors import HwnasUsageError
from hwnas.spaces.base import SPACES, Arch, DatasetSpec, Space

if TYPE_CHECKING:
    from torch import nn

OP_NAMES: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGE_SOURCES: tuple[int, ...] = (0, 0, 1, 0, 1, 2)  # source node of each edge, in string order
NUM_EDGES = 6
NUM_ARCHS = len(OP_NAMES) ** NUM_EDGES  # 15,625

_DATASETS = {
    "cifar10": DatasetSpec("cifar10", 10, (3, 32, 32)),
    "cifar100": DatasetSpec("cifar100", 100, (3, 32, 32)),
    "imagenet16-120": DatasetSpec("imagenet16-120", 120, (3, 16, 16)),
}
DATASET_ALIASES = {"imagenet16": "imagenet16-120", "in16": "imagenet16-120", "imagenet16_120": "imagenet16-120",
                   "c10": "cifar10", "c100": "cifar100"}


@lru_cache(maxsize=1)
def _index_tables() -> tuple[np.ndarray, np.ndarray]:
    """(genotype of each index [15625, 6], index of each base-5 genotype code [15625])."""
    with resources.files("hwnas._data").joinpath("nb201_archs.npz").open("rb") as fh:
        genotypes = np.load(fh)["genotypes"].astype(np.int64)
    codes = genotypes @ (len(OP_NAMES) ** np.arange(NUM_EDGES - 1, -1, -1))
    index_of_code = np.empty(NUM_ARCHS, dtype=np.int64)
    index_of_code[codes] = np.arange(NUM_ARCHS)
    return genotypes, index_of_code


def genotype_code(genotype: tuple[int, ...]) -> int:
    """Base-5 number of a genotype (a dense id, not the benchmark index)."""
    code = 0
    for op in genotype:
        code = code * len(OP_NAMES) + op
    return code


def unique_str(ops: tuple[str, ...]) -> str:
    """NATS-Bench's canonical cell string (`to_unique_str(consider_zero=True)`): `none` edges
    and edges leaving a node that is exactly zero become '#', skips pass their input through, and each node's inputs are sorted, so isomorphic
    cells (the 6,466 classes of the benchmark) map to one string."""
    nodes = ["0"]
    edge = 0
    for node in range(1, 4):
        terms = []
        for _ in range(node):
            op, src = ops[edge], EDGE_SOURCES[edge]
            if op == "none" or nodes[src] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{op}")
            edge += 1
        nodes.append("+".join(sorted(terms)))
    return nodes[-1]


@SPACES.register("nb201", aliases=("nas-bench-201", "nasbench201", "nats-tss"))
class NB201Space(Space):
    """NAS-Bench-201: stem, 3 stages x 5 cells (C = 16/32/64), residual reductions, head."""

    name = "nb201"
    description = "NAS-Bench-201 cells: 6 edges x 5 ops = 15,625 archs (6,466 unique)"
    datasets = _DATASETS
    indexed = True

    @property
    def num_archs(self) -> int:
        return NUM_ARCHS

    @property
    def genotype_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(NUM_EDGES, dtype=np.int64), np.full(NUM_EDGES, len(OP_NAMES) - 1, dtype=np.int64)

    # --- the three names of an architecture -------------------------------------------
    def arch_at(self, index: int) -> Arch:
        """The architecture with NAS-Bench-201 index ``index``."""
        if not 0 <= index < NUM_ARCHS:
            raise HwnasUsageError(
                f"NAS-Bench-201 index {index} is out of range; use 0..{NUM_ARCHS - 1}"
            )
        genotypes, _ = _index_tables()
        return Arch(self.name, tuple(int(v) for v in genotypes[index]))

    def index(self, arch: Arch) -> int:
        """NAS-Bench-201 index of ``arch``."""
        _, index_of_code = _index_tables()
        return int(index_of_code[genotype_code(arch.genotype)])

    def ops(self, arch: Arch) -> tuple[str, ...]:
        """Op name of each edge."""
        return tuple(OP_NAMES[g] for g in arch.genotype)

    def to_str(self, arch: Arch) -> str:
        o = self.ops(arch)
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    def from_str(self, text: str) -> Arch:
        """Parse an arch string such as ``|nor_conv_3x3~0|+|...|``."""
        fix = "expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2| with ops " + ", ".join(OP_NAMES)
        nodes = text.strip().split("+")
        if len(nodes) != 3:
            raise HwnasUsageError(f"malformed NAS-Bench-201 arch string {text!r}: {fix}")
        genotype: list[int] = []
        for node, part in enumerate(nodes, start=1):
            if not (part.startswith("|") and part.endswith("|")):
                raise HwnasUsageError(f"malformed NAS-Bench-201 arch string {text!r}: {fix}")
            edges = part[1:-1].split("|")
            if len(edges) != node:
                raise HwnasUsageError(
                    f"malformed NAS-Bench-201 arch string {text!r}: node {node} needs {node} "
                    f"edge(s), got {len(edges)}; {fix}"
                )
            for src, edge in enumerate(edges):
                op, sep, inp = edge.partition("~")
                if op not in OP_NAMES:
                    raise HwnasUsageError(
                        f"unknown NAS-Bench-201 op {op!r} in {text!r}; use one of {', '.join(OP_NAMES)}"
                    )
                if sep != "~" or inp != str(src):
                    raise HwnasUsageError(
                        f"malformed NAS-Bench-201 arch string {text!r}: edge {edge!r} should read {op}~{src}"
                    )
                genotype.append(OP_NAMES.index(op))
        return Arch(self.name, tuple(genotype))

    def parse(self, text: "str | int") -> Arch:
        """An index (``"6111"``), an arch string, or a genotype (``"3,3,3,1,3,2"``)."""
        text = str(text).strip()
        if text.lstrip("-").isdigit():
            return self.arch_at(int(text))
        if text.startswith("|"):
            return self.from_str(text)
        if "," in text:
            try:
                values = [int(v) for v in text.split(",")]
            except ValueError:
                values = []
            if values:
                return self.from_genotype(values)
        raise HwnasUsageError(
            f"cannot read NAS-Bench-201 architecture {text!r}: give an index 0..{NUM_ARCHS - 1}, "
            "an arch string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|, or 6 comma-separated op ids 0..4"
        )

    def key(self, arch: Arch) -> str:
        return unique_str(self.ops(arch))

    def canonical(self, arch: Arch) -> Arch:
        """The representative of ``arch``'s isomorphism class: the member with the fewest FLOPs
        (cells that compute the same function but run dead convolutions cost more on hardware),
        ties broken by the smallest NAS-Bench-201 index."""
        return self.arch_at(int(representative_indices()[self.index(arch)]))

    # --- models -------------------------------------------------------------------------
    def dataset(self, name: str) -> DatasetSpec:
        key = name.strip().lower()
        return super().dataset(DATASET_ALIASES.get(key, key))

    def build(self, arch: Arch, dataset: str) -> "nn.Module":
        from hwnas.spaces.nb201_ops import TinyNetwork

        return TinyNetwork(self.ops(arch), num_classes=self.dataset(dataset).num_classes)

    def cost(self, arch: Arch, dataset: str) -> ModelCost:
        """Parameters and FLOPs (NAS-Bench-201 convention, see `hwnas.counting`) per sample.

        Every edge has the same shape in every position, so the cost depends only on how many
        edges carry each op; it is counted once per op multiset (210 of them) and cached."""
        ds = self.dataset(dataset).name
        table = _cost_table()
        if table is not None:
            i = self.index(arch)
            return ModelCost(params=int(table[f"{ds}/params"][i]), flops=int(table[f"{ds}/flops"][i]))
        return _cost_of_op_multiset(tuple(sorted(arch.genotype)), ds)


_USE_COST_TABLE = [True]


def use_cost_table(enabled: bool) -> None:
    """Read params / FLOPs / representatives from the shipped ``nb201_costs.npz`` (default) or
    always count them (the table's build script does)."""
    _USE_COST_TABLE[0] = bool(enabled)
    _cost_table.cache_clear()
    representative_indices.cache_clear()
    _cost_of_op_multiset.cache_clear()


@lru_cache(maxsize=1)
def _cost_table() -> dict[str, np.ndarray] | None:
    """The shipped exact counts (scripts/build_nb201_costs.py), or None."""
    if not _USE_COST_TABLE[0]:
        return None
    ref = resources.files("hwnas._data").joinpath("nb201_costs.npz")
    if not ref.is_file():
        return None
    with ref.open("rb") as fh:
        data = np.load(fh, allow_pickle=False)
        return {k: data[k] for k in data.files}


def cost_arrays(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """(params, FLOPs) per sample of all 15,625 architectures on ``dataset``, in index order
    (NAS-Bench-201 counting convention, `NB201Space.cost`)."""
    ds = NB201Space().dataset(dataset).name
    table = _cost_table()
    if table is not None:
        return table[f"{ds}/params"].astype(np.int64), table[f"{ds}/flops"].astype(np.int64)
    genotypes, _ = _index_tables()
    costs = [_cost_of_op_multiset(tuple(sorted(int(v) for v in g)), ds) for g in genotypes]
    return (np.array([c.params for c in costs], dtype=np.int64), np.array([c.flops for c in costs], dtype=np.int64))


@lru_cache(maxsize=1)
def representative_indices() -> np.ndarray:
    """For every NAS-Bench-201 index, the index of its class representative (`NB201Space.canonical`);
    6,466 distinct values."""
    table = _cost_table()
    if table is not None:
        return table["representatives"].astype(np.int64)
    genotypes, _ = _index_tables()
    best: dict[str, tuple[int, int]] = {}
    keys = []
    for index, genotype in enumerate(genotypes):
        ops = tuple(OP_NAMES[g] for g in genotype)
        key = unique_str(ops)
        keys.append(key)
        rank = (_cost_of_op_multiset(tuple(sorted(int(g) for g in genotype)), "cifar10").flops, index)
        if key not in best or rank < best[key]:
            best[key] = rank
    return np.array([best[k][1] for k in keys], dtype=np.int64)


@lru_cache(maxsize=None)
def _cost_of_op_multiset(sorted_genotype: tuple[int, ...], dataset: str) -> ModelCost:
    from hwnas.counting import model_cost
    from hwnas.spaces.nb201_ops import TinyNetwork

    spec = _DATASETS[dataset]
    ops = tuple(OP_NAMES[g] for g in sorted_genotype)
    return model_cost(TinyNetwork(ops, num_classes=spec.num_classes), spec.input_shape)
