"""The zero-cost proxy interface (`Proxy`) and its registry (`PROXIES`); the random probe batch
lives in `hwnas.proxies.probe` (re-exported here).

A proxy scores one untrained network; larger means "predicted better". Proxies that read the
same forward/backward pass declare what they need from it (`Proxy.needs`) and get it from a
shared `ScoringContext` (see `hwnas.proxies.passes`), so asking for several of them costs one pass.

Randomness: every generator is a private `torch.Generator` seeded from a hash of
(seed, purpose), so a score depends only on its own arguments -- never on the global torch RNG,
on what was scored before, or on which other proxies are computed alongside it.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, ClassVar, Literal, Sequence, TypeVar

from hwnas.errors import HwnasUsageError
from hwnas.proxies.probe import (  # noqa: F401  (re-exported)
    PASS_PRODUCTS,
    ProxyInput,
    batch_seed,
    load_probe_inputs,
    make_batch,
    make_batches,
    weight_layers,
)
from hwnas.registry import Registry

if TYPE_CHECKING:
    from torch import nn

    from hwnas.proxies.passes import ScoringContext

_FROM_INIT = ("WEIGHT_LAYERS", "derive_seed", "generator")  # re-exported from hwnas.init on first use


def __getattr__(name: str) -> object:
    # hwnas.init imports torch: load it only when one of its names is asked for here
    if name in _FROM_INIT:
        import hwnas.init

        return getattr(hwnas.init, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


CostClass = Literal["free", "forward", "backward", "multi-batch"]
COST_CLASSES: tuple[str, ...] = ("free", "forward", "backward", "multi-batch")


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
    """The (stateless, cached) instance of the registered proxy ``name`` or an alias of it, else
    the user's learned proxy of that name (``hwnas proxies fit``, `hwnas.proxies.learned`)."""
    try:
        canonical = PROXIES.canonical(name)
    except HwnasUsageError:
        from hwnas.proxies.learned import learned_proxy

        learned = learned_proxy(name)
        if learned is None:
            raise
        return learned
    if canonical not in _instances:
        _instances[canonical] = PROXIES.get(canonical)()
    return _instances[canonical]
