"""The MobileNetV2-style ImageNet space of TF-NAS (AberHu/TF-NAS, ECCV 2020, MIT), whose per-block
latency look-up tables `hwnas.devices.tfnas` reads.

Skeleton (TF-NAS ``models/model_eval.py`` `Network`, input 3x224x224, 1000 classes):

* first stem: 3x3 conv 3 -> 32, stride 2, BN, ReLU (224 -> 112);
* second stem: `MBInvertedResBlock(32, mid 32, se 8, 16, k3, s1, relu)` (no expansion conv);
* six stages of searchable layers (input size, Cin -> Cout, stride of the first layer, layers,
  activation): 112, 16 -> 24, s2, 2, relu | 56, 24 -> 40, s2, 3, swish | 28, 40 -> 80, s2, 4,
  swish | 14, 80 -> 112, s1, 4, swish | 14, 112 -> 192, s2, 4, swish | 7, 192 -> 320, s1, 1, swish;
* feature-mix 1x1 conv 320 -> 1280, BN, swish; global average pool; Linear 1280 -> classes.

Genotype: two integers per searchable layer, 18 layers, in order (op_0, width_0, op_1, ...):

* op 0..7 = TF-NAS's primitives MBI_k3_e3, MBI_k3_e6, MBI_k5_e3, MBI_k5_e6 and the same with
  squeeze-excite (`_se`), whose squeeze width is Cin (e3) or 2 Cin (e6); op 8 = skip, allowed
  on every layer but the first of a stage (TF-NAS's depth search keeps 1..n leading layers of a
  stage; here any layer after the first may be dropped, and `key` moves the dropped ones to the
  end of their stage, where TF-NAS puts them);
* width 0..2 = the block's mid channels: {2, 3, 4} x Cin for e3 ops, {4, 6, 8} x Cin for e6
  ops: the ends of TF-NAS's width search (its masks hold 4 Cin / 8 Cin channels and
  `bound_clip` keeps at least half) and its starting width (3 Cin / 6 Cin).

Arch string: 18 comma-separated tokens ``<op>@<expansion>`` (``k3_e6_se@8``) or ``skip`` (a
skip whose unused width gene is 1 or 2 reads ``skip~1`` / ``skip~2``, so that
``parse(to_str(a)) == a``); `parse` also takes ``<op>`` alone (the starting width) or 36
comma-separated integers.

Isomorphisms (`key`, `canonical`): skipped layers' widths do not matter; a skip may sit anywhere
after a stage's first layer; k3_e6@4 and k5_e6@4 are k3_e3@4 and k5_e3@4 (no squeeze-excite,
same mid channels: the same block, priced by the same LUT entry).

Weights: PyTorch's default initialisation, like the NAS-Bench-201 builder (TF-NAS additionally
zeroes biases; proxies re-initialise with `hwnas.init.init_kaiming_normal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from hwnas.counting import ModelCost
from hwnas.errors import HwnasUsageError
from hwnas.spaces.base import SPACES, Arch, DatasetSpec, Space

if TYPE_CHECKING:
    from torch import nn

OP_NAMES: tuple[str, ...] = ("k3_e3", "k3_e6", "k5_e3", "k5_e6", "k3_e3_se", "k3_e6_se", "k5_e3_se", "k5_e6_se", "skip")
SKIP = 8
NUM_BLOCK_OPS = 8
# (kernel, expansion family, squeeze-excite) of op ids 0..7: TF-NAS's PRIMITIVES order
OP_SPECS: tuple[tuple[int, int, bool], ...] = (
    (3, 3, False), (3, 6, False), (5, 3, False), (5, 6, False),
    (3, 3, True), (3, 6, True), (5, 3, True), (5, 6, True),
)
WIDTH_RATIOS = {3: (2, 3, 4), 6: (4, 6, 8)}  # mid channels / Cin of width choice 0, 1, 2
NUM_WIDTHS = 3
DEFAULT_WIDTH = 1

INPUT_SIZE = 224
FIRST_STEM = (3, 32, 3, 2, "relu")  # c_in, c_out, kernel, stride, act
SECOND_STEM = (32, 32, 8, 16, 3, 1, "relu")  # c_in, mid, se, c_out, kernel, stride, act
# (Cin of the first layer, Cout, stride of the first layer, layers, activation)
STAGES: tuple[tuple[int, int, int, int, str], ...] = (
    (16, 24, 2, 2, "relu"),
    (24, 40, 2, 3, "swish"),
    (40, 80, 2, 4, "swish"),
    (80, 112, 1, 4, "swish"),
    (112, 192, 2, 4, "swish"),
    (192, 320, 1, 1, "swish"),
)
FEATURE_MIX = (320, 1280, 1, 1, "swish")

_DATASETS = {"imagenet": DatasetSpec("imagenet", 1000, (3, 224, 224))}
DATASET_ALIASES = {"imagenet1k": "imagenet", "in1k": "imagenet", "imagenet-1k": "imagenet"}


@dataclass(frozen=True)
class LayerSpec:
    """One searchable layer: stage (1..6), position in it (0 = first), input size (pixels),
    channels in / out, stride, activation, and whether it may be skipped."""

    stage: int
    position: int
    size: int
    c_in: int
    c_out: int
    stride: int
    act: str

    @property
    def skippable(self) -> bool:
        return self.position > 0


@dataclass(frozen=True)
class BlockChoice:
    """The block one (layer, op, width) gene pair builds: kernel, mid channels, squeeze width."""

    kernel: int
    mid: int
    se: int


def _layers() -> tuple[LayerSpec, ...]:
    size = INPUT_SIZE // FIRST_STEM[3] // SECOND_STEM[5]
    out: list[LayerSpec] = []
    for stage, (c_in, c_out, stride, count, act) in enumerate(STAGES, start=1):
        for pos in range(count):
            s = stride if pos == 0 else 1
            out.append(LayerSpec(stage, pos, size, c_in if pos == 0 else c_out, c_out, s, act))
            size //= s
    return tuple(out)


LAYERS: tuple[LayerSpec, ...] = _layers()
NUM_LAYERS = len(LAYERS)  # 18
GENOTYPE_LENGTH = 2 * NUM_LAYERS


def block_choice(layer: LayerSpec, op: int, width: int) -> "BlockChoice | None":
    """What op ``op`` at width choice ``width`` builds on ``layer`` (None for skip)."""
    if op == SKIP:
        return None
    kernel, family, se = OP_SPECS[op]
    return BlockChoice(kernel, WIDTH_RATIOS[family][width] * layer.c_in, (layer.c_in * family // 3) if se else 0)


def lut_key(layer: LayerSpec, choice: BlockChoice) -> str:
    """TF-NAS's latency-table key of ``choice`` on ``layer``:
    ``MBInvertedResBlock_<input size>_<Cin>_<squeeze width>_<Cout>_k<kernel>_s<stride>_<act>``;
    the table's inner key is the mid-channel count (`BlockChoice.mid`)."""
    return (f"MBInvertedResBlock_{layer.size}_{layer.c_in}_{choice.se}_{layer.c_out}"
            f"_k{choice.kernel}_s{layer.stride}_{layer.act}")


def canonical_genotype(genotype: "tuple[int, ...]") -> tuple[int, ...]:
    """The representative of ``genotype``'s class (see the module docstring)."""
    pairs = [[genotype[2 * i], genotype[2 * i + 1]] for i in range(NUM_LAYERS)]
    for op_width in pairs:
        op, width = op_width
        if op == SKIP:
            op_width[1] = 0
        elif not OP_SPECS[op][2] and OP_SPECS[op][1] == 6 and width == 0:
            op_width[0], op_width[1] = op - 1, 2  # e6 at 4 x Cin == e3 at 4 x Cin
    start = 0
    for _, _, _, count, _ in STAGES:
        rest = pairs[start + 1:start + count]
        pairs[start + 1:start + count] = [p for p in rest if p[0] != SKIP] + [p for p in rest if p[0] == SKIP]
        start += count
    return tuple(v for p in pairs for v in p)


@SPACES.register("mbv2", aliases=("mobilenetv2", "tfnas", "tf-nas"))
class MBV2Space(Space):
    """TF-NAS's MobileNetV2-style space: 18 layers, each (op, width), 12 of them skippable."""

    name = "mbv2"
    description = "TF-NAS MobileNetV2-style ImageNet space: 18 layers x (8 ops [+skip] x 3 widths)"
    datasets = _DATASETS

    @property
    def num_archs(self) -> int:
        lo, hi = self.genotype_bounds
        return int(np.prod([int(h - l + 1) for l, h in zip(lo, hi)], dtype=object))

    @property
    def genotype_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        hi = []
        for layer in LAYERS:
            hi += [SKIP if layer.skippable else SKIP - 1, NUM_WIDTHS - 1]
        return np.zeros(GENOTYPE_LENGTH, dtype=np.int64), np.array(hi, dtype=np.int64)

    def choices(self, arch: Arch) -> tuple["BlockChoice | None", ...]:
        """The block of each layer (None where skipped)."""
        g = arch.genotype
        return tuple(block_choice(layer, g[2 * i], g[2 * i + 1]) for i, layer in enumerate(LAYERS))

    def to_str(self, arch: Arch) -> str:
        g = arch.genotype
        tokens = []
        for i in range(NUM_LAYERS):
            op, width = g[2 * i], g[2 * i + 1]
            if op == SKIP:
                tokens.append("skip" if width == 0 else f"skip~{width}")  # the unused width gene, kept
            else:
                tokens.append(f"{OP_NAMES[op]}@{WIDTH_RATIOS[OP_SPECS[op][1]][width]}")
        return ",".join(tokens)

    def parse(self, text: "str | int") -> Arch:
        """18 tokens ``op@expansion`` / ``op`` / ``skip``, or 36 integers, comma-separated."""
        fix = (f"give {NUM_LAYERS} comma-separated tokens op@expansion (ops {', '.join(OP_NAMES[:SKIP])}; "
               f"expansion 2|3|4 for e3, 4|6|8 for e6; skip after a stage's first layer) "
               f"or {GENOTYPE_LENGTH} comma-separated integers")
        raw = str(text).strip()
        items = [t.strip() for t in raw.split(",")]
        if items and all(t.lstrip("-").isdigit() for t in items) and len(items) == GENOTYPE_LENGTH:
            return self.from_genotype([int(t) for t in items])
        if len(items) != NUM_LAYERS or not all(items):
            raise HwnasUsageError(f"cannot read mbv2 architecture {raw!r}: got {len(items)} item(s); {fix}")
        genotype: list[int] = []
        for layer, token in zip(LAYERS, items):
            name, sep, ratio = token.partition("@")
            name, tilde, unused = name.strip().partition("~")
            name = name.strip()
            if name not in OP_NAMES:
                raise HwnasUsageError(f"unknown mbv2 op {name!r} in {raw!r}; {fix}")
            op = OP_NAMES.index(name)
            if tilde and (op != SKIP or unused.strip() not in ("0", "1", "2")):
                raise HwnasUsageError(f"mbv2 token {token!r}: only skip takes ~0|~1|~2 (its unused width gene); {fix}")
            if op == SKIP:
                if sep or not layer.skippable:
                    where = "takes no expansion" if sep else f"cannot replace the first layer of stage {layer.stage}"
                    raise HwnasUsageError(f"mbv2 token {token!r}: skip {where}; {fix}")
                genotype += [op, int(unused) if tilde else 0]
                continue
            ratios = WIDTH_RATIOS[OP_SPECS[op][1]]
            if not sep:
                width = DEFAULT_WIDTH
            elif ratio.strip().isdigit() and int(ratio) in ratios:
                width = ratios.index(int(ratio))
            else:
                raise HwnasUsageError(f"mbv2 token {token!r}: expansion must be one of "
                                      f"{', '.join(map(str, ratios))} for {name}; {fix}")
            genotype += [op, width]
        return self.from_genotype(genotype)

    def key(self, arch: Arch) -> str:
        return self.to_str(self.canonical(arch))

    def canonical(self, arch: Arch) -> Arch:
        return Arch(self.name, canonical_genotype(arch.genotype))

    # --- models -------------------------------------------------------------------------
    def dataset(self, name: str) -> DatasetSpec:
        key = name.strip().lower()
        return super().dataset(DATASET_ALIASES.get(key, key))

    def build(self, arch: Arch, dataset: str) -> "nn.Module":
        from torch import nn

        from hwnas.spaces.mbv2_ops import ConvLayer, MBInvertedResBlock, TFNASNetwork

        spec = self.dataset(dataset)
        blocks: list[nn.Module] = []
        for layer, choice in zip(LAYERS, self.choices(arch)):
            blocks.append(nn.Identity() if choice is None else _block(layer, choice))
        c_in, mid, se, c_out, k, s, act = SECOND_STEM
        return TFNASNetwork(ConvLayer(*FIRST_STEM), MBInvertedResBlock(c_in, mid, se, c_out, k, s, act), blocks,
                            ConvLayer(*FEATURE_MIX), FEATURE_MIX[1], spec.num_classes)

    def cost(self, arch: Arch, dataset: str) -> ModelCost:
        """Parameters and FLOPs per sample (NAS-Bench-201 convention, `hwnas.counting`; swish,
        sigmoid and the squeeze-excite pooling and product are not counted): the fixed part plus
        each present block, counted once per distinct block and cached."""
        spec = self.dataset(dataset)
        fixed = _fixed_cost(spec.num_classes)
        params, flops = fixed.params, fixed.flops
        table = block_cost_table()
        g = arch.genotype
        for i in range(NUM_LAYERS):
            p, f = table[i, g[2 * i], g[2 * i + 1]]
            params, flops = params + int(p), flops + int(f)
        return ModelCost(params=params, flops=flops)


def _block(layer: LayerSpec, choice: BlockChoice) -> "nn.Module":
    from hwnas.spaces.mbv2_ops import MBInvertedResBlock

    return MBInvertedResBlock(layer.c_in, choice.mid, choice.se, layer.c_out, choice.kernel, layer.stride, layer.act)


BLOCK_COSTS_FILE = "mbv2_block_costs.npz"  # hwnas/_data, built by scripts/build_mbv2_costs.py


def count_block_costs() -> np.ndarray:
    """int64 [18 layers, 9 ops, 3 widths, 2]: (params, FLOPs) of the block each gene pair builds,
    counted on the built block (0 for skip). About 40 s on one core: the package ships it."""
    out = np.zeros((NUM_LAYERS, SKIP + 1, NUM_WIDTHS, 2), dtype=np.int64)
    for i, layer in enumerate(LAYERS):
        for op in range(SKIP):
            for w in range(NUM_WIDTHS):
                c = _block_cost(layer, block_choice(layer, op, w))
                out[i, op, w] = (c.params, c.flops)
    return out


@lru_cache(maxsize=1)
def block_cost_table() -> np.ndarray:
    """`count_block_costs`, read from the package's shipped copy (counted where it is missing)."""
    from importlib import resources

    try:
        with resources.files("hwnas._data").joinpath(BLOCK_COSTS_FILE).open("rb") as fh, \
                np.load(fh, allow_pickle=False) as z:
            table = z["block_costs"].astype(np.int64)
    except FileNotFoundError:
        table = count_block_costs()
    table.setflags(write=False)
    return table


@lru_cache(maxsize=None)
def _block_cost(layer: LayerSpec, choice: BlockChoice) -> ModelCost:
    import torch

    from hwnas.counting import model_cost

    with torch.random.fork_rng(devices=[]):
        return model_cost(_block(layer, choice), (layer.c_in, layer.size, layer.size))


@lru_cache(maxsize=None)
def _fixed_cost(num_classes: int) -> ModelCost:
    """Stems, feature-mix layer, pool and classifier at 224x224."""
    import torch
    from torch import nn

    from hwnas.counting import count_flops, count_params
    from hwnas.spaces.mbv2_ops import ConvLayer, MBInvertedResBlock

    c_in, mid, se, c_out, k, s, act = SECOND_STEM
    stem_size = INPUT_SIZE // FIRST_STEM[3]
    last = LAYERS[-1].size // LAYERS[-1].stride
    with torch.random.fork_rng(devices=[]):
        parts = [
            (ConvLayer(*FIRST_STEM), (3, INPUT_SIZE, INPUT_SIZE)),
            (MBInvertedResBlock(c_in, mid, se, c_out, k, s, act), (c_in, stem_size, stem_size)),
            (nn.Sequential(ConvLayer(*FEATURE_MIX), nn.AdaptiveAvgPool2d(1)), (FEATURE_MIX[0], last, last)),
            (nn.Linear(FEATURE_MIX[1], num_classes), (FEATURE_MIX[1],)),
        ]
        return ModelCost(params=sum(count_params(m) for m, _ in parts),
                         flops=sum(count_flops(m, shape) for m, shape in parts))
