"""The shared scoring pass and the per-network scoring context.

`ScoringContext` holds one network, its probe batch and everything computed from them, so that
proxies asking for the same thing share it: all "main pass" proxies (naswot, swap, meco,
grad_norm, snip, fisher, jacob_cov and the AZ-NAS components) read ONE forward pass of the probe
batch, followed by the AZ-NAS block backward passes and one cross-entropy backward when any of
them needs it.

The pass runs with BatchNorm in training mode (batch statistics), as the official AZ-NAS and
the zero-cost-proxy code (zero-cost-nas / NASLib) do. It leaves the model as it found it:
training flags, buffers (BN running statistics) and ``.grad`` of every parameter are restored.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hwnas.errors import HwnasUsageError
from hwnas.init import generator
from hwnas.proxies.probe import PASS_PRODUCTS, ProxyInput, batch_seed, make_batch, weight_layers
from hwnas.proxies.features import as_nchw, match_resolution, position_cross_product, primary_blocks

if TYPE_CHECKING:
    from hwnas.proxies.base import Proxy


@contextlib.contextmanager
def preserved_state(model: nn.Module) -> Iterator[None]:
    """Restore ``model``'s training flags, buffers and parameter ``.grad`` on exit."""
    modes = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    grads = [(p, p.grad) for p in model.parameters()]
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)
        for p, g in grads:
            p.grad = g


@torch.no_grad()
def infer_num_classes(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Width of the model's output for one zero sample (eval mode; the model is left as it was)."""
    with preserved_state(model):
        model.eval()
        out = model(torch.zeros((1, *input_shape)))
    if out.dim() < 2:
        raise HwnasUsageError(
            f"expected [batch, classes] logits from the model, got shape {tuple(out.shape)}"
        )
    return int(out.shape[1])  # for a feature-map output, its channels (labels then go unused)


@dataclass
class MainPass:
    """What the shared pass produced (only the requested products are filled in)."""

    products: frozenset[str]
    logits: torch.Tensor | None = None
    relu_kernel: np.ndarray | None = None  # [B, B] float64, NASWOT's K (matches per ReLU unit)
    relu_units: int = 0  # number of ReLU units the kernel counts
    relu_patterns: int = 0  # SWAP: distinct activation patterns of the ReLU units over the first samples
    meco_terms: list[float] = field(default_factory=list)  # MeCo: lambda_min per module output, sample 0
    features: list[torch.Tensor] = field(default_factory=list)  # primary-block outputs, detached
    block_sigmas: list[float] = field(default_factory=list)  # spectral norm of block l = 1..L-1
    input_jacobian: torch.Tensor | None = None  # [B, prod(input_shape)]
    weight_grads: list[tuple[torch.Tensor, torch.Tensor | None]] = field(default_factory=list)
    fisher_per_layer: list[float] = field(default_factory=list)


SWAP_SAMPLES = 16  # SWAP-Score's sample count (Peng et al. 2024): patterns of 16 bits


def pattern_bits(samples: int) -> torch.Tensor:
    """[samples, 1] int32 weights 2^0 .. 2^(samples-1) that pack one bit per sample (samples <= 16:
    int32 holds every pattern and moves half the bytes of int64)."""
    return (2 ** torch.arange(samples, dtype=torch.int32)).reshape(samples, 1)


def pack_patterns(pre_activations: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """[units] int32: unit n's activation pattern over the first ``len(bits)`` samples of the
    [B, units] ``pre_activations``, as an integer (bit s = sample s's pre-activation > 0). The
    comparison writes int32 straight away and the weighting is in place: no boolean tensor and
    no conversion pass (a fifth to a third less time per ReLU than comparing, converting and
    multiplying, measured in isolation)."""
    first = pre_activations[: bits.shape[0]]
    positive = torch.gt(first, 0, out=torch.empty(first.shape, dtype=torch.int32, device=first.device))
    return positive.mul_(bits.to(first.device)).sum(dim=0, dtype=torch.int32)


class SeenTensors:
    """Tensors met during one pass, by identity and version (an in-place change makes a tensor
    new again), held through weak references so that none is kept alive and a freed tensor's
    reused id is not mistaken for it; optionally a value computed from each."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[weakref.ref, int, object]] = {}

    def _entry(self, t: torch.Tensor) -> "tuple[weakref.ref, int, object] | None":
        entry = self._seen.get(id(t))
        if entry is not None and entry[0]() is t and entry[1] == t._version:
            return entry
        return None

    def first_time(self, t: torch.Tensor) -> bool:
        """True the first time ``t`` (in its current version) is met, and it is now seen."""
        if self._entry(t) is not None:
            return False
        self.remember(t, None)
        return True

    def value(self, t: torch.Tensor) -> object:
        """The value remembered for ``t`` in its current version, else None."""
        entry = self._entry(t)
        return None if entry is None else entry[2]

    def remember(self, t: torch.Tensor, value: object) -> None:
        self._seen[id(t)] = (weakref.ref(t), t._version, value)


def rademacher(shape: Sequence[int], g: torch.Generator) -> torch.Tensor:
    """A tensor of independent +-1 entries with equal probability."""
    return torch.randint(0, 2, tuple(shape), generator=g, dtype=torch.float32).mul_(2.0).sub_(1.0)


def block_spectral_norm(f_in: torch.Tensor, f_out: torch.Tensor, v: torch.Tensor, retain_graph: bool = True) -> float:
    """AZ-NAS Eq. 8-10: sigma_l, the largest singular value of A_l^T = 1/n sum_p g_in(p) v(p)^T,
    where v is a Rademacher output gradient and g_in its backpropagation to the block input
    (n = batch x output positions). Inputs larger than the output (reduction blocks) are
    folded space-to-depth first. A block whose output does not depend on its input gets 0; an
    exact identity block (input gradient == output gradient) gets +inf, so that its
    trainability is -inf as in the official AZ-NAS code (see `hwnas.proxies.az_nas`).
    ``retain_graph=False`` frees the block's part of the graph as the backward pass runs
    (`run_main_pass` does so, last block first)."""
    g_in = None
    if f_out.requires_grad and f_in.requires_grad:
        (g_in,) = torch.autograd.grad(f_out, f_in, grad_outputs=v, retain_graph=retain_graph, allow_unused=True)
    return spectral_norm_of_block_grads(g_in if g_in is not None else torch.zeros_like(f_in), v)


def spectral_norm_of_block_grads(g_in: torch.Tensor, v: torch.Tensor) -> float:
    """sigma_l of `block_spectral_norm` from the input gradient ``g_in`` of output gradient ``v``."""
    if g_in.shape == v.shape and torch.equal(g_in, v):
        return math.inf
    g_out4 = as_nchw(v)
    g_in4 = match_resolution(as_nchw(g_in.detach()), (g_out4.shape[2], g_out4.shape[3]))
    n = g_out4.shape[0] * g_out4.shape[2] * g_out4.shape[3]
    mat = position_cross_product(g_in4, g_out4).double() / n
    return float(torch.linalg.matrix_norm(mat, ord=2))


def run_main_pass(model: nn.Module, data: ProxyInput, products: Sequence[str], seed: int) -> MainPass:
    """One forward pass of ``data`` (BN in training mode) collecting ``products``; then, as
    needed, one cross-entropy backward, the AZ-NAS block backward passes (Rademacher output
    gradients from a generator seeded from ``seed``) and the input Jacobian, all through the
    graph of that one forward."""
    wanted = frozenset(products)
    unknown = wanted - PASS_PRODUCTS
    if unknown:
        raise ValueError(f"unknown pass products {sorted(unknown)}")
    result = MainPass(products=wanted)
    want_block = bool(wanted & {"features", "block_grads"})
    want_loss = bool(wanted & {"weight_grads", "fisher"})
    handles: list[torch.utils.hooks.RemovableHandle] = []

    # the graph is only built when some product needs a backward pass
    grad_needed = bool(wanted & {"block_grads", "input_jacobian", "weight_grads", "fisher"})
    with preserved_state(model), torch.set_grad_enabled(grad_needed):
        model.train()
        for p in model.parameters():
            p.grad = None
        x = data.inputs.detach().clone()
        if wanted & {"input_jacobian", "block_grads"}:
            x.requires_grad_(True)

        # --- hooks ---------------------------------------------------------------------------
        kernel = np.zeros((data.batch_size, data.batch_size), dtype=np.float64)
        units = 0
        want_codes, want_patterns = "relu_codes" in wanted, "relu_patterns" in wanted
        if want_codes or want_patterns:
            relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
            if not relus:
                raise HwnasUsageError(
                    f"naswot and swap need nn.ReLU modules, {type(model).__name__} has none"
                )
            bits = pattern_bits(min(data.batch_size, SWAP_SAMPLES))
            seen = torch.zeros(2 ** bits.shape[0], dtype=torch.bool)  # patterns met so far

            packed = SeenTensors()  # a tensor read by several ReLUs adds its patterns once

            def relu_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
                nonlocal kernel, units
                x = inputs[0].detach()
                if want_codes:
                    codes = (x.reshape(x.shape[0], -1) > 0).float()
                    kernel += (codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T).double().numpy()
                    units += codes.shape[1]
                if want_patterns and packed.first_time(inputs[0]):
                    first = x[: bits.shape[0]]
                    patterns = pack_patterns(first.reshape(first.shape[0], -1), bits)
                    seen.index_fill_(0, patterns.cpu().long(), True)  # faster than seen[patterns] = True

            # a pre-hook sees the input before an in-place ReLU overwrites it
            handles += [m.register_forward_pre_hook(relu_hook) for m in relus]

        feats: list[torch.Tensor] = []
        if want_block:
            blocks = primary_blocks(model)
            index = {id(b): i for i, b in enumerate(blocks)}

            def block_pre_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
                i = index[id(module)]
                if i != len(feats):
                    raise HwnasUsageError(
                        f"primary block {i} of {type(model).__name__} ran out of order or twice: "
                        "the AZ-NAS proxies need a chain of blocks, each run once"
                    )
                if i > 0 and inputs[0] is not feats[i - 1]:
                    raise HwnasUsageError(
                        f"primary block {i} of {type(model).__name__} is not fed by block {i - 1}'s "
                        "output: the AZ-NAS proxies need a chain of blocks"
                    )

            def block_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
                feats.append(out)

            for b in blocks:
                handles.append(b.register_forward_pre_hook(block_pre_hook))
                handles.append(b.register_forward_hook(block_hook))

        if "meco_terms" in wanted:
            from hwnas.proxies.meco import PendingTerms, module_output_map

            pending = PendingTerms()
            term_order: list[int] = []  # per hooked output, its term's index in ``pending``
            terms_of = SeenTensors()  # modules returning the same tensor (a block and its last layer) share its term

            def meco_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: object) -> None:
                tensor = out[0] if isinstance(out, (tuple, list)) else out
                known = terms_of.value(tensor) if isinstance(tensor, torch.Tensor) else None
                if known is None:
                    fmap = module_output_map(out)
                    known = -1 if fmap is None else pending.add(fmap)  # -1: an output MeCo skips
                    if isinstance(tensor, torch.Tensor):
                        terms_of.remember(tensor, known)
                if known >= 0:
                    term_order.append(known)

            handles += [m.register_forward_hook(meco_hook) for m in model.modules()]

        layer_outputs: list[tuple[nn.Module, torch.Tensor]] = []
        if "fisher" in wanted:

            def fisher_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
                if out.requires_grad:
                    out.retain_grad()
                    layer_outputs.append((module, out))

            handles += [m.register_forward_hook(fisher_hook) for m in weight_layers(model)]

        # --- the forward pass ----------------------------------------------------------------
        try:
            logits = model(x)
        finally:
            for h in handles:
                h.remove()
        result.logits = logits.detach()
        if want_codes:
            result.relu_kernel, result.relu_units = kernel, units
        if want_patterns:
            result.relu_patterns = int(seen.sum())
        if "meco_terms" in wanted:
            terms = pending.values()
            result.meco_terms = [terms[k] for k in term_order]
        if want_block:
            if len(feats) != len(blocks):
                raise HwnasUsageError(
                    f"only {len(feats)} of the {len(blocks)} primary blocks of "
                    f"{type(model).__name__} ran in its forward pass"
                )
            result.features = [f.detach() for f in feats]

        # --- backward passes -----------------------------------------------------------------
        # The cross-entropy backward goes first: later autograd.grad calls would add to the
        # .grad that fisher retains on layer outputs (retain_grad sees every backward).
        later = bool(wanted & {"block_grads", "input_jacobian"})
        if want_loss:
            if logits.dim() != 2:
                raise HwnasUsageError(
                    f"expected [batch, classes] logits from the model, got shape {tuple(logits.shape)}"
                )
            loss = F.cross_entropy(logits, data.labels)
            if loss.requires_grad:
                loss.backward(retain_graph=later)
            result.weight_grads = [
                (m.weight.detach(), None if m.weight.grad is None else m.weight.grad.detach())
                for m in weight_layers(model)
            ]
            for module, out in layer_outputs:
                if out.grad is None:
                    result.fisher_per_layer.append(0.0)
                    continue
                act, grad = as_nchw(out.detach()), as_nchw(out.grad.detach())
                per_channel = (act * grad).sum(dim=(2, 3))  # [B, C]
                # zero-cost-nas broadcasts each channel's value over that channel's weights
                # (in_channels/groups x kh x kw, or in_features) before summing: same weighting here.
                fan_in = math.prod(module.weight.shape[1:])
                result.fisher_per_layer.append(float(0.5 * per_channel.double().pow(2).mean(0).sum()) * fan_in)
            layer_outputs.clear()
        if "input_jacobian" in wanted:
            (jac,) = torch.autograd.grad(logits, x, grad_outputs=torch.ones_like(logits),
                                         retain_graph="block_grads" in wanted, allow_unused=True)
            if jac is None:
                jac = torch.zeros_like(x)
            result.input_jacobian = jac.detach().reshape(jac.shape[0], -1)
        if "block_grads" in wanted:
            # Output gradients drawn in block order; the backward passes run last block first,
            # each freeing its block's graph as it goes (a retained graph cost 1.5-1.8x a
            # backward pass in page faults). Block l's pass runs only the nodes between block
            # l-1's output and its own (a node both before and after block l-1's output would be
            # a cycle), so the blocks before it are still intact when their turn comes.
            g = generator(seed, "az_nas", "rademacher")
            vs = [rademacher(feats[i].shape, g) for i in range(1, len(feats))]
            sigmas = [block_spectral_norm(feats[i - 1], feats[i], vs[i - 1], retain_graph=False)
                      for i in range(len(feats) - 1, 0, -1)]
            result.block_sigmas = sigmas[::-1]
    return result


class ScoringContext:
    """One network + its probe batch + everything already computed from them.

    ``batch`` is a batch size or a ready `ProxyInput`; ``needs`` is the union of the shared-pass
    products that the proxies about to be evaluated will read (declare them up front so the
    pass runs once; a later, larger request re-runs it with the union)."""

    def __init__(
        self,
        model: nn.Module,
        input_shape: Sequence[int],
        seed: int = 0,
        batch: "int | ProxyInput" = 64,
        num_classes: int | None = None,
        needs: "frozenset[str] | set[str]" = frozenset(),
        probe: "ProxyInput | None" = None,
    ) -> None:
        self.model = model
        # user-provided probe set: batches are its consecutive slices of ``batch`` rows
        self._probe = probe
        self.seed = int(seed)
        self.needs = frozenset(needs)
        if isinstance(batch, ProxyInput):
            self._data: ProxyInput | None = batch
            self.input_shape = batch.input_shape
            self.batch_size = batch.batch_size
            self._num_classes: int | None = batch.num_classes
        else:
            self._data = None
            self.input_shape = tuple(int(v) for v in input_shape)
            self.batch_size = int(batch)
            self._num_classes = num_classes
        if probe is not None:
            self._num_classes = probe.num_classes
            self._check_probe_rows(1)
        self._main: MainPass | None = None
        self._flops: dict[tuple[str, bool], int] = {}
        self._results: dict[str, dict[str, float]] = {}

    @property
    def num_classes(self) -> int:
        if self._num_classes is None:
            self._num_classes = infer_num_classes(self.model, self.input_shape)
        return self._num_classes

    @property
    def data(self) -> ProxyInput:
        """The probe batch: ``make_batch(input_shape, batch_size, num_classes, seed)``, or the
        first ``batch_size`` rows of the probe inputs; on the model's device."""
        if self._data is None:
            self._data = self._batch(0)
        return self._data

    def batches(self, count: int) -> list[ProxyInput]:
        """``count`` probe batches, the first being `data`: further Gaussian batches under
        `batch_seed`, or the first ``count`` slices of ``batch_size`` rows of the probe inputs."""
        self._check_probe_rows(count)
        return [self.data] + [self._batch(i) for i in range(1, count)]

    def _check_probe_rows(self, count: int) -> None:
        if self._probe is not None and count * self.batch_size > self._probe.batch_size:
            raise HwnasUsageError(f"{count} probe batches of {self.batch_size} need {count * self.batch_size} "
                                  f"images, the probe inputs hold {self._probe.batch_size}; give more images "
                                  f"or a smaller batch size")

    def _batch(self, index: int) -> ProxyInput:
        """Probe batch ``index`` on the model's device (the network may have been moved there)."""
        if self._probe is not None:
            rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
            data = ProxyInput(self._probe.inputs[rows], self._probe.labels[rows], self._probe.num_classes)
        else:
            data = make_batch(self.input_shape, self.batch_size, self.num_classes, batch_seed(self.seed, index))
        device = next((p.device for p in self.model.parameters()), torch.device("cpu"))
        if data.inputs.device == device:
            return data
        return ProxyInput(data.inputs.to(device), data.labels.to(device), data.num_classes)

    def main_pass(self, needs: "frozenset[str] | set[str]") -> MainPass:
        """The shared pass, run once with every product declared so far."""
        needs = frozenset(needs)
        if self._main is None or not needs <= self._main.products:
            products = self.needs | needs | (self._main.products if self._main else frozenset())
            self._main = run_main_pass(self.model, self.data, sorted(products), self.seed)
        return self._main

    def flops(self, convention: str = "nb201", live_only: bool = False) -> int:
        """FLOPs per sample under ``convention`` (`hwnas.counting`; ``live_only``: only the
        layers the output depends on), computed once each. A model that defines
        ``counted_flops(input_shape, convention, live_only)`` (NB201's `TinyNetwork`) answers
        from its structure; None from it falls back to the counting pass."""
        key = (convention, bool(live_only))
        if key not in self._flops:
            from hwnas.counting import count_flops

            counted = getattr(self.model, "counted_flops", None)  # a network that knows its count
            value = counted(self.input_shape, convention, live_only) if callable(counted) else None
            if value is None:
                with preserved_state(self.model):
                    value = count_flops(self.model, self.input_shape, convention=convention, live_only=live_only)
            self._flops[key] = int(value)
        return self._flops[key]

    def evaluate(self, proxy: "Proxy") -> dict[str, float]:
        """``proxy.compute(self)``, once per proxy name."""
        if proxy.name not in self._results:
            values = {k: float(v) for k, v in proxy.compute(self).items()}
            missing = set(proxy.outputs) - set(values)
            if missing:
                raise RuntimeError(f"proxy {proxy.name!r} did not compute {sorted(missing)}")
            self._results[proxy.name] = values
        return self._results[proxy.name]

