"""The zero-cost proxy interface (`Proxy`), its registry (`PROXIES`), and the random probe batch.

A proxy scores one untrained network; larger means "predicted better". Proxies that read the
same forward/backward pass declare what they need from it (`Proxy.needs`) and get it from a
shared `ScoringContext` (see `hwnas.proxies.passes`), so asking for several of them costs one pass.

Randomness: every generator is a private `torch.Generator` seeded from a hash of
(seed, purpose), so a score depends only on its own arguments -- never on the global torch RNG,
on what was scored before, or on which other proxies are computed alongside it.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Sequence, TypeVar

import torch
from torch import nn

from hwnas.errors import HwnasUsageError
from hwnas.init import WEIGHT_LAYERS, derive_seed, generator  # noqa: F401  (re-exported)
from hwnas.registry import Registry

if TYPE_CHECKING:
    from hwnas.proxies.passes import ScoringContext

CostClass = Literal["free", "forward", "backward", "multi-batch"]
COST_CLASSES: tuple[str, ...] = ("free", "forward", "backward", "multi-batch")

# What a proxy may ask of the shared pass (one forward on the probe batch, BN in training mode):
#   relu_codes      -- NASWOT kernel of binary ReLU codes, accumulated during the forward
#   features        -- outputs of the primary blocks (stem + every block), see `features.py`
#   block_grads     -- AZ-NAS block Jacobian spectral norms from Rademacher output gradients
#   input_jacobian  -- d(sum of logits)/d(input), one row per sample
#   weight_grads    -- cross-entropy gradients of every conv / linear weight (one backward)
#   fisher          -- per-channel Fisher information of conv / linear outputs (same backward)
PASS_PRODUCTS: frozenset[str] = frozenset(
    {"relu_codes", "features", "block_grads", "input_jacobian", "weight_grads", "fisher"}
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
    return int(seed) if index == 0 else derive_seed(seed, "batch", index)


class Proxy(abc.ABC):
    """A zero-cost proxy: one number per untrained network, larger = predicted better.

    Subclasses set the class attributes and implement `compute`; they register with
    ``@register`` (one module per proxy). A proxy that yields several scores at once
    (``az_nas``) lists them in `outputs`; `score` is for single-score proxies.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""  # one line, with the unit of the score
    cost: ClassVar[CostClass] = "forward"
    needs: ClassVar[frozenset[str]] = frozenset()  # products of the shared pass it reads
    aliases: ClassVar[tuple[str, ...]] = ()

    @property
    def outputs(self) -> tuple[str, ...]:
        """Names of the scores `compute` returns (just the proxy's name for most proxies)."""
        return (self.name,)

    @abc.abstractmethod
    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        """Scores keyed by `outputs`, computed from (and cached in) ``ctx``."""

    def score(
        self,
        model: nn.Module,
        input_shape: Sequence[int],
        seed: int = 0,
        batch: "int | ProxyInput" = 64,
        num_classes: int | None = None,
    ) -> float:
        """The score of ``model`` as it is (no re-initialisation); the model is left as it was.

        ``batch`` is a batch size (the probe batch is then ``make_batch(input_shape, batch,
        num_classes, seed)``, with ``num_classes`` read from the model's output if not given)
        or a ready `ProxyInput`."""
        from hwnas.proxies.passes import ScoringContext

        if len(self.outputs) != 1:
            raise HwnasUsageError(
                f"proxy {self.name!r} yields several scores ({', '.join(self.outputs)}); "
                "use hwnas.proxies.score_all, or score one of them by name"
            )
        ctx = ScoringContext(model, input_shape, seed=seed, batch=batch, num_classes=num_classes,
                             needs=self.needs)
        return float(ctx.evaluate(self)[self.name])


PROXIES: Registry[type[Proxy]] = Registry("proxy")

P = TypeVar("P", bound=type[Proxy])


def register(cls: P) -> P:
    """Class decorator: register a `Proxy` subclass under its ``name`` (and ``aliases``)."""
    if not cls.name or cls.cost not in COST_CLASSES or not cls.description:
        raise ValueError(f"proxy class {cls.__name__} needs a name, a description and a cost class")
    unknown = set(cls.needs) - PASS_PRODUCTS
    if unknown:
        raise ValueError(f"proxy {cls.name!r} needs unknown pass products {sorted(unknown)}")
    return PROXIES.register(cls.name, aliases=cls.aliases)(cls)


_instances: dict[str, Proxy] = {}


def get_proxy(name: str) -> Proxy:
    """The (stateless, cached) instance of the registered proxy ``name`` or an alias of it."""
    canonical = PROXIES.canonical(name)
    if canonical not in _instances:
        _instances[canonical] = PROXIES.get(canonical)()
    return _instances[canonical]


# --- small helpers shared by the proxy modules ------------------------------------------------


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """Conv and linear modules, in `model.modules()` order: the layers the pruning-at-init
    proxies (grad_norm, snip, synflow, fisher) and xi-GSNR sum over."""
    return [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]
