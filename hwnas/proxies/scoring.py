"""`score_all`: several proxies of one network, each needed pass run once."""

from __future__ import annotations

from typing import Callable, Sequence

from torch import nn

from hwnas.errors import HwnasUsageError
from hwnas.proxies.base import get_proxy
from hwnas.proxies.probe import ProxyInput
from hwnas.init import default_init_skipped, init_kaiming_normal
from hwnas.proxies.memory import collection_paused, keep_freed_memory
from hwnas.proxies.passes import ScoringContext

INITS = ("kaiming_normal", "none")


def score_all(
    model_factory: Callable[[], nn.Module],
    names: Sequence[str],
    input_shape: Sequence[int],
    num_classes: int,
    seed: int = 0,
    batch_size: int = 64,
    init: str = "kaiming_normal",
    device: str = "cpu",
    probe: "ProxyInput | None" = None,
) -> dict[str, float]:
    """Scores of the proxies ``names`` (or aliases) for one network built by ``model_factory``.

    The network is built once and, with ``init="kaiming_normal"`` (AZ-NAS's setting), given
    `init_kaiming_normal(model, seed)` (built inside `hwnas.init.default_init_skipped`: layers
    that support it skip PyTorch's default initialisation, which would be overwritten);
    ``init="none"`` keeps the factory's weights. All proxies
    see the same weights and the same probe batch ``make_batch(input_shape, batch_size,
    num_classes, seed)``. Proxies reading the shared pass (naswot, swap, meco, grad_norm,
    snip, fisher, jacob_cov, AZ-NAS) get ONE forward pass plus the backward passes any of them needs; the
    others run their own pass. Every pass leaves the model as it found it, so the result does
    not depend on the order of ``names``. The first call in a process applies
    `hwnas.proxies.memory.keep_freed_memory` (an allocator setting; values are unchanged); the
    cyclic garbage collector is paused during the call (`collection_paused`).
    ``device`` other than "cpu": the network is built and
    initialised on the CPU, then it and the probe batch move there.

    Returns {score name: value}, in the order of ``names``; ``az_nas`` contributes its four
    columns ``az_expressivity``, ``az_progressivity``, ``az_trainability``, ``az_complexity``.
    ``probe``: user-provided images and labels (`load_probe_inputs`) used instead of Gaussian
    batches, in slices of ``batch_size`` rows. Units are those of each proxy's description. For
    per-architecture seeding pass a seed derived from (seed, architecture), e.g.
    `hwnas.init.arch_seed`.
    """
    keep_freed_memory()  # once per process: reuse freed activation memory (hwnas.proxies.memory)
    if init not in INITS:
        raise HwnasUsageError(f"unknown init {init!r}; use one of {', '.join(INITS)}")
    proxies = []
    for name in names:
        proxy = get_proxy(name)
        if proxy not in proxies:
            proxies.append(proxy)
    needs: set[str] = set()
    for proxy in proxies:
        needs |= proxy.needs
    with collection_paused():  # (hwnas.proxies.memory) building alone triggered ~4 ms of collections
        if init == "kaiming_normal":  # the factory's default initialisation would be overwritten
            with default_init_skipped():
                model = model_factory()
            init_kaiming_normal(model, seed)
        else:
            model = model_factory()
        if device != "cpu":  # built and initialised on the CPU (same weights), then moved; the
            model = model.to(device)  # context moves every probe batch to the model's device
        ctx = ScoringContext(model, input_shape, seed=seed, batch=batch_size, num_classes=num_classes,
                             needs=needs, probe=probe)
        scores: dict[str, float] = {}
        for proxy in proxies:
            values = ctx.evaluate(proxy)
            for key in proxy.outputs:
                scores[key] = values[key]
        del ctx, model  # freed while the collector is off: re-enabling it finds little new to scan
    return scores
