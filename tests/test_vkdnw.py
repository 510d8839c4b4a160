"""VKDNW (`hwnas.proxies.vkdnw`): finite on NB201 and FBNet networks, deterministic under the
seed, exact per-sample scores, and the FIM spectrum of a linear softmax model in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from hwnas.init import arch_seed
from hwnas.proxies import PROXIES, score_all
from hwnas.proxies.vkdnw import (
    ALPHA,
    decile_entropy,
    fisher_dimension,
    per_sample_scores,
    selected_parameters,
    vkdnw_from_scores,
)
from hwnas.spaces import get_space

NAMES = ["vkdnw", "vkdnw_single", "vkdnw_dim"]


def _score(space: str, arch_text: "str | None", dataset: str, seed: int = 0, batch: int = 16,
           rng_seed: int = 0) -> dict[str, float]:
    sp = get_space(space)
    arch = sp.parse(arch_text) if arch_text is not None else sp.sample(np.random.default_rng(rng_seed), 1)[0]
    spec = sp.dataset(dataset)
    return score_all(lambda: sp.build(arch, spec.name), NAMES, spec.input_shape, spec.num_classes,
                     seed=arch_seed(seed, arch), batch_size=batch)


def test_registered() -> None:
    names = PROXIES.names()
    assert {"vkdnw", "vkdnw_single", "vkdnw_dim"} <= set(names)


@pytest.mark.parametrize("index", ["0", "100", "5000"])
def test_finite_on_nb201(index: str) -> None:
    s = _score("nb201", index, "cifar10")
    assert math.isfinite(s["vkdnw"]) and 0.0 <= s["vkdnw"] <= math.log(9) + 1e-12
    assert s["vkdnw_dim"] >= 20
    assert int(s["vkdnw_single"]) == int(s["vkdnw_dim"])  # aleph + VKDNW / (2 log 9), fraction < 1


def test_finite_on_fbnet() -> None:
    s = _score("fbnet", None, "cifar100", batch=4)
    assert math.isfinite(s["vkdnw"]) and s["vkdnw_dim"] > 0


def test_deterministic_under_seed() -> None:
    a = _score("nb201", "100", "cifar10", seed=3)
    b = _score("nb201", "100", "cifar10", seed=3)
    c = _score("nb201", "100", "cifar10", seed=4)
    assert a == b
    assert a["vkdnw"] != c["vkdnw"]


def test_disconnected_cell_has_no_information() -> None:
    # every edge 'none': the logits do not depend on the stem or cell weights, only on the
    # classifier's; its FIM still has rank >= 1 but most parameters carry nothing
    text = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    s = _score("nb201", text, "cifar10")
    ok = _score("nb201", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
                "nor_conv_3x3~2|", "cifar10")
    assert s["vkdnw"] < ok["vkdnw"] or not math.isfinite(s["vkdnw"])


def test_per_sample_scores_are_exact() -> None:
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                      nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False), nn.GroupNorm(2, 4), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    with torch.no_grad():
        m[1].running_mean.uniform_(-1, 1)
        m[1].running_var.uniform_(0.5, 2)
    x = torch.randn(6, 3, 8, 8)
    got = per_sample_scores(m, x, 5, torch.Generator().manual_seed(1))
    assert m.training  # left as it was
    m.eval()
    chosen = selected_parameters(m)
    z = m(x)
    p = (1 - ALPHA) * torch.softmax(z.detach().double(), 1) + ALPHA / 5
    labels = torch.multinomial(p, 1, generator=torch.Generator().manual_seed(1)).squeeze(1)
    v = nn.functional.one_hot(labels, 5).double() - p
    for b in range(6):
        zb = m(x[b:b + 1])[0]
        grads = torch.autograd.grad((zb * v[b].float()).sum(), [getattr(mod, n) for mod, n in chosen])
        ref = torch.stack([g.reshape(-1)[0] for g in grads])
        assert torch.allclose(got[b], ref.double(), atol=1e-6, rtol=1e-5)
    assert fisher_dimension(m) == 2 + 2 + 1 + 2 + 2


def test_fim_spectrum_of_a_linear_softmax_model_in_closed_form() -> None:
    # z = W x (no bias), theta~ = {W[0, 0]}: P = 1 is degenerate, so use a model whose parameter
    # tensors are 1 x 1 each: z = (w_1 x_1, w_2 x_2, w_3 x_3) with three Linear(1, 1) heads.
    class Heads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.h = nn.ModuleList([nn.Linear(1, 1, bias=False) for _ in range(3)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([h(x[:, i:i + 1]) for i, h in enumerate(self.h)], dim=1)

    torch.manual_seed(0)
    m = Heads()
    x = torch.randn(64, 3)
    g = per_sample_scores(m, x, 3, torch.Generator().manual_seed(0), draws=1)
    # closed form: J_b = diag(x_b), score row = x_b * (e_c - p_b) elementwise
    with torch.no_grad():
        z = m(x).double()
    p = (1 - ALPHA) * torch.softmax(z, 1) + ALPHA / 3
    labels = torch.multinomial(p, 1, generator=torch.Generator().manual_seed(0)).squeeze(1)
    rows = x.double() * (nn.functional.one_hot(labels, 3).double() - p)
    assert torch.allclose(g, rows, atol=1e-6)
    fim = (rows.T @ rows / 64).numpy()
    lam = np.clip(np.linalg.eigvalsh(fim), 0, None)
    q = np.quantile(lam, np.arange(1, 10) / 10)
    qn = q / q.sum()
    expected = float(-(qn * np.log(qn)).sum())
    assert vkdnw_from_scores(g) == pytest.approx(expected, rel=1e-6)


def test_decile_entropy_edges() -> None:
    assert decile_entropy(torch.ones(20)) == pytest.approx(math.log(9))
    assert decile_entropy(torch.zeros(20)) == -math.inf
    assert decile_entropy(torch.tensor([float("nan"), 1.0])) == -math.inf
