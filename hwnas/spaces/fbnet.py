"""The FBNet search space of HW-NAS-Bench: 22 searchable layers x 9 ops = 9**22 genotypes.

Genotype: 22 integers, the op id of each layer (0..8 = k3_e1, k3_e1_g2, k3_e3, k3_e6, k5_e1,
k5_e1_g2, k5_e3, k5_e6, skip). Arch string: the 22 op names joined by commas. `parse` also takes
22 comma-separated op ids.

The skeleton (stem 16 channels, stages of (1, 4, 4, 4, 4, 4, 1) layers with (16, 24, 32, 64,
112, 184, 352) channels, strides, head 1504 / 1984 channels) is `hwnas.devices.fbnet`'s, the one
HW-NAS-Bench's block LUT prices; datasets ``cifar100`` (3x32x32, 100 classes) and ``imagenet``
(3x224x224, 1000 classes). Modules: `hwnas.spaces.fbnet_ops`, as HW-NAS-Bench's FBNet code
builds them. Where this differs from the layer model of `hwnas.devices.energy.lut_entry_counts`:
the channel shuffle of the two grouped ops (k3_e1_g2, k5_e1_g2) is real here (no FLOPs, no
parameters), and the head pools with `nn.AdaptiveAvgPool2d(1)` as upstream does, which the
NAS-Bench-201 FLOP convention counts as (H+1)(W+1) per channel (the LUT's ``AvgP`` entry counts
H*W): 1504 * 25 vs 1504 * 16 FLOPs on CIFAR-100, 1984 * 64 vs 1984 * 49 on ImageNet.

Weights: PyTorch's default initialisation, like the NAS-Bench-201 builder (proxies re-initialise
with `hwnas.init.init_kaiming_normal`); HW-NAS-Bench's own ``init_params`` (Kaiming fan-out,
Linear N(0, 0.001)) is not applied.

Isomorphisms: a ``skip`` in layers 2..4 of a four-layer stage is an identity (stride 1, Cin ==
Cout), and those layers all have the same shape, so moving such skips within the stage gives the
same network. `key` (and `canonical`) therefore moves them to the end of their stage:
``skip,k3_e1`` and ``k3_e1,skip`` there share a key. No other two genotypes build the same network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from hwnas.counting import ModelCost
from hwnas.errors import HwnasUsageError
from hwnas.spaces.base import SPACES, Arch, DatasetSpec, Space

if TYPE_CHECKING:
    from torch import nn

NUM_LAYERS = 22
NUM_OPS = 9
SKIP = 8

_DATASETS = {
    "cifar100": DatasetSpec("cifar100", 100, (3, 32, 32)),
    "imagenet": DatasetSpec("imagenet", 1000, (3, 224, 224)),
}


def _fb() -> ModuleType:
    """`hwnas.devices.fbnet`, which holds the skeleton (imported on use: spaces load without devices)."""
    from hwnas.devices import fbnet

    return fbnet


@dataclass(frozen=True)
class LayerShape:
    """Where one searchable layer sits: input height = width (pixels), channels in / out, stride."""

    size: int
    c_in: int
    c_out: int
    stride: int

    @property
    def permutable(self) -> bool:
        """True where ``skip`` is an identity (stride 1, Cin == Cout)."""
        return self.stride == 1 and self.c_in == self.c_out


@dataclass(frozen=True)
class Skeleton:
    """The fixed part of an FBNet network for one dataset."""

    input_size: int
    stem_channels: int
    stem_stride: int
    layers: tuple[LayerShape, ...]
    stages: tuple[tuple[int, ...], ...]  # layer indices of each stage
    head_in: int
    head_channels: int
    head_size: int  # spatial size entering the head
    num_classes: int


@lru_cache(maxsize=None)
def skeleton(dataset: str) -> Skeleton:
    """The skeleton of ``dataset`` (``cifar100`` or ``imagenet``, or an alias `hwnas.devices.fbnet` takes)."""
    fb = _fb()
    ds = fb.canonical_dataset(dataset)
    size, stem_stride, strides, head, classes = fb._SKELETON[ds]
    hw, c_in = size // stem_stride, fb._STEM_CHANNELS
    layers: list[LayerShape] = []
    stages: list[tuple[int, ...]] = []
    for stage, (count, c_out) in enumerate(zip(fb._STAGE_LAYERS, fb._STAGE_CHANNELS)):
        first = len(layers)
        for i in range(count):
            stride = strides[stage] if i == 0 else 1
            layers.append(LayerShape(hw, c_in, c_out, stride))
            hw //= stride
            c_in = c_out
        stages.append(tuple(range(first, len(layers))))
    if len(layers) != NUM_LAYERS or len(fb.OP_NAMES) != NUM_OPS:
        raise AssertionError("hwnas.devices.fbnet's skeleton no longer has 22 layers x 9 ops")
    return Skeleton(size, fb._STEM_CHANNELS, stem_stride, tuple(layers), tuple(stages),
                    fb._STAGE_CHANNELS[-1], head, hw, classes)


def op_names() -> tuple[str, ...]:
    """Op name of each op id 0..8."""
    return tuple(_fb().OP_NAMES)


def canonical_genotype(genotype: "tuple[int, ...]") -> tuple[int, ...]:
    """``genotype`` with the identity skips of every stage moved to the stage's end (the
    representative of its isomorphism class; the skeleton's permutable layers are the same for
    both datasets)."""
    sk = skeleton("cifar100")
    out = list(genotype)
    for stage in sk.stages:
        movable = [i for i in stage if sk.layers[i].permutable]
        ops = [out[i] for i in movable]
        ordered = [o for o in ops if o != SKIP] + [o for o in ops if o == SKIP]
        for i, o in zip(movable, ordered):
            out[i] = o
    return tuple(out)


@SPACES.register("fbnet", aliases=("fbnet-v1", "hwnasbench-fbnet"))
class FBNetSpace(Space):
    """HW-NAS-Bench's FBNet space: stem, 22 searchable layers (9 ops each), head."""

    name = "fbnet"
    description = "HW-NAS-Bench FBNet: 22 layers x 9 ops = 9^22 archs"
    datasets = _DATASETS

    @property
    def num_archs(self) -> int:
        return NUM_OPS**NUM_LAYERS

    @property
    def genotype_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(NUM_LAYERS, dtype=np.int64), np.full(NUM_LAYERS, NUM_OPS - 1, dtype=np.int64)

    def ops(self, arch: Arch) -> tuple[str, ...]:
        """Op name of each layer."""
        names = op_names()
        return tuple(names[g] for g in arch.genotype)

    def to_str(self, arch: Arch) -> str:
        return ",".join(self.ops(arch))

    def parse(self, text: "str | int") -> Arch:
        """22 op names (``k3_e1,k5_e6,...,skip``) or 22 op ids (``0,7,...,8``), comma-separated."""
        fix = (f"give {NUM_LAYERS} comma-separated op names ({', '.join(op_names())}) "
               f"or {NUM_LAYERS} comma-separated op ids 0..{NUM_OPS - 1}")
        raw = str(text).strip()
        items = [t.strip() for t in raw.split(",")]
        if len(items) != NUM_LAYERS or not all(items):
            raise HwnasUsageError(f"cannot read FBNet architecture {raw!r}: got {len(items)} item(s); {fix}")
        names = op_names()
        if all(t.lstrip("-").isdigit() for t in items):
            return self.from_genotype([int(t) for t in items])
        unknown = [t for t in items if t not in names]
        if unknown:
            raise HwnasUsageError(f"unknown FBNet op {unknown[0]!r} in {raw!r}; {fix}")
        return Arch(self.name, tuple(names.index(t) for t in items))

    def key(self, arch: Arch) -> str:
        return self.to_str(self.canonical(arch))

    def canonical(self, arch: Arch) -> Arch:
        """The member of ``arch``'s class whose identity skips sit at the end of their stage."""
        return Arch(self.name, canonical_genotype(arch.genotype))

    # --- models -------------------------------------------------------------------------
    def dataset(self, name: str) -> DatasetSpec:
        try:
            key = _fb().canonical_dataset(name)
        except HwnasUsageError:
            key = name  # the base class names the choices
        return super().dataset(key)

    def build(self, arch: Arch, dataset: str) -> "nn.Module":
        from hwnas.spaces.fbnet_ops import FBNet, ConvNorm, make_layer

        sk = skeleton(self.dataset(dataset).name)
        blocks = _fb()._BLOCKS
        layers = [make_layer(op, blocks, s.c_in, s.c_out, s.stride) for op, s in zip(arch.genotype, sk.layers)]
        stem = ConvNorm(3, sk.stem_channels, 3, sk.stem_stride, padding=1)
        head = ConvNorm(sk.head_in, sk.head_channels, 1, 1)
        return FBNet(stem, layers, head, sk.head_channels, sk.num_classes)

    def cost(self, arch: Arch, dataset: str) -> ModelCost:
        """Parameters and FLOPs per sample (NAS-Bench-201 convention, `hwnas.counting`): the
        fixed part plus each layer's entry of a per-(layer, op) table counted once per dataset."""
        table = cost_table(self.dataset(dataset).name)
        rows = np.arange(NUM_LAYERS)
        g = np.asarray(arch.genotype, dtype=np.int64)
        return ModelCost(params=int(table.fixed_params + table.params[rows, g].sum()),
                         flops=int(table.fixed_flops + table.flops[rows, g].sum()))


@dataclass(frozen=True)
class CostTable:
    """Params and FLOPs (NAS-Bench-201 convention) of every (layer, op) [22, 9] and of the fixed
    part (stem, head conv, pool, classifier) of one dataset's skeleton; int64."""

    dataset: str
    params: np.ndarray
    flops: np.ndarray
    fixed_params: int
    fixed_flops: int


@lru_cache(maxsize=None)
def cost_table(dataset: str) -> CostTable:
    """`CostTable` of ``dataset``, counted with `hwnas.counting` on each layer built alone."""
    import torch
    from torch import nn

    from hwnas.counting import count_flops, count_params
    from hwnas.spaces.fbnet_ops import ConvNorm, make_layer

    sk = skeleton(dataset)
    blocks = _fb()._BLOCKS
    params = np.zeros((NUM_LAYERS, NUM_OPS), dtype=np.int64)
    flops = np.zeros((NUM_LAYERS, NUM_OPS), dtype=np.int64)
    with torch.random.fork_rng(devices=[]):
        for i, s in enumerate(sk.layers):
            for op in range(NUM_OPS):
                layer = make_layer(op, blocks, s.c_in, s.c_out, s.stride)
                params[i, op] = count_params(layer)
                flops[i, op] = count_flops(layer, (s.c_in, s.size, s.size))
        head = nn.Sequential(ConvNorm(sk.head_in, sk.head_channels, 1, 1), nn.AdaptiveAvgPool2d(1))
        stem = ConvNorm(3, sk.stem_channels, 3, sk.stem_stride, padding=1)
        fc = nn.Linear(sk.head_channels, sk.num_classes)
        fixed_params = count_params(stem) + count_params(head) + count_params(fc)
        fixed_flops = (count_flops(stem, (3, sk.input_size, sk.input_size))
                       + count_flops(head, (sk.head_in, sk.head_size, sk.head_size))
                       + count_flops(fc, (sk.head_channels,)))
    params.setflags(write=False)
    flops.setflags(write=False)
    return CostTable(_fb().canonical_dataset(dataset), params, flops, int(fixed_params), int(fixed_flops))
