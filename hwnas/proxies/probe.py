"""The probe batch (`ProxyInput`, `make_batch`, `load_probe_inputs`) and what the shared scoring
pass may read off a network on it (`PASS_PRODUCTS`, `weight_layers`).

Both the proxy interface (`hwnas.proxies.base`) and the shared pass (`hwnas.proxies.passes`)
build on this module; it imports neither of them. torch is imported by the functions that need
it, so that importing this module (and registering proxies) does not load torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from hwnas.errors import HwnasUsageError

if TYPE_CHECKING:
    import os

    import torch
    from torch import nn

# What a proxy may ask of the shared pass (one forward on the probe batch, BN in training mode):
#   relu_codes      -- NASWOT kernel of binary ReLU codes, accumulated during the forward
#   features        -- outputs of the primary blocks (stem + every block), see `features.py`
#   block_grads     -- AZ-NAS block Jacobian spectral norms from Rademacher output gradients
#   input_jacobian  -- d(sum of logits)/d(input), one row per sample
#   weight_grads    -- cross-entropy gradients of every conv / linear weight (one backward)
#   fisher          -- per-channel Fisher information of conv / linear outputs (same backward)
PASS_PRODUCTS: frozenset[str] = frozenset(
    {"relu_codes", "relu_patterns", "meco_terms", "features", "block_grads", "input_jacobian", "weight_grads", "fisher"}
)


@dataclass(frozen=True)
class ProxyInput:
    """One probe batch: ``inputs`` [B, *input_shape] float32, ``labels`` [B] int64 in
    [0, num_classes)."""

    inputs: torch.Tensor
    labels: torch.Tensor
    num_classes: int

    @property
    def batch_size(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.inputs.shape[1:])


def make_batch(
    input_shape: Sequence[int], batch_size: int, num_classes: int, seed: int
) -> ProxyInput:
    """Standard-normal images of ``input_shape`` (C, H, W) and uniform random labels, drawn
    from a private generator seeded by ``seed`` (the global torch RNG is not touched)."""
    if batch_size < 1:
        raise HwnasUsageError(f"batch size must be at least 1, got {batch_size}")
    if num_classes < 1:
        raise HwnasUsageError(f"num_classes must be at least 1, got {num_classes}")
    import torch

    from hwnas.init import generator

    g = generator(seed, "batch")
    inputs = torch.randn((int(batch_size), *(int(v) for v in input_shape)), generator=g)
    labels = torch.randint(0, int(num_classes), (int(batch_size),), generator=g)
    return ProxyInput(inputs=inputs, labels=labels, num_classes=int(num_classes))


def make_batches(
    input_shape: Sequence[int], batch_size: int, num_classes: int, seed: int, count: int
) -> list[ProxyInput]:
    """``count`` independent probe batches; the first is ``make_batch(..., seed)`` itself,
    so multi-batch proxies start from the batch that the single-pass proxies see."""
    return [make_batch(input_shape, batch_size, num_classes, batch_seed(seed, i)) for i in range(count)]


def load_probe_inputs(path: "str | os.PathLike[str]", input_shape: Sequence[int], num_classes: int) -> ProxyInput:
    """A user-provided probe set from an ``.npz`` file with arrays ``x`` (N, C, H, W images,
    float) and ``y`` (N labels in [0, num_classes)); HwnasUsageError naming the fix otherwise.
    Proxies read consecutive slices of ``batch_size`` rows of it (`ScoringContext`)."""
    import os
    import zipfile

    import numpy as np
    import torch

    try:
        with np.load(os.fspath(path), allow_pickle=False) as arrays:
            if "x" not in arrays or "y" not in arrays:
                raise HwnasUsageError(f"{path}: needs arrays 'x' (images N x C x H x W) and 'y' (N labels), "
                                      f"found {', '.join(arrays.files) or 'none'}")
            x, y = np.asarray(arrays["x"]), np.asarray(arrays["y"])
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise HwnasUsageError(f"cannot read probe inputs {path}: {exc}; give an .npz file with arrays x and y") from None
    shape = tuple(int(v) for v in input_shape)
    if x.ndim != 1 + len(shape) or tuple(x.shape[1:]) != shape or x.shape[0] < 1:
        raise HwnasUsageError(f"{path}: x has shape {x.shape}, the networks take N x {' x '.join(map(str, shape))}")
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise HwnasUsageError(f"{path}: x must hold finite numbers")
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= num_classes:
        raise HwnasUsageError(f"{path}: y must be {x.shape[0]} integer labels in 0..{num_classes - 1}")
    return ProxyInput(inputs=torch.as_tensor(x.astype(np.float32)), labels=torch.as_tensor(y.astype(np.int64)),
                      num_classes=int(num_classes))


def batch_seed(seed: int, index: int) -> int:
    """Seed of probe batch ``index`` of `make_batches` (index 0 is ``seed`` itself)."""
    from hwnas.init import derive_seed

    return int(seed) if index == 0 else derive_seed(seed, "batch", index)



def weight_layers(model: nn.Module) -> list[nn.Module]:
    """Conv and linear modules, in `model.modules()` order: the layers the pruning-at-init
    proxies (grad_norm, snip, synflow, fisher) and xi-GSNR sum over."""
    from hwnas.init import WEIGHT_LAYERS

    return [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]
