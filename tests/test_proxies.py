"""Zero-cost proxies: each proxy's defining property on tiny hand-made networks, the shared pass,
determinism, and rank aggregation (AZ-NAS Eq. 12) on a hand-computed example."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hwnas.counting import count_flops, count_params
from hwnas.errors import HwnasUsageError
from hwnas.proxies import (
    COST_CLASSES,
    PROXIES,
    ScoringContext,
    get_proxy,
    init_kaiming_normal,
    linear_rank_aggregate,
    make_batch,
    make_batches,
    nonlinear_rank_aggregate,
    rank_ascending,
    score_all,
)
from hwnas.proxies.az_nas import expressivity_progressivity, feature_entropy, trainability_from_sigmas
from hwnas.proxies.xi_gsnr import xi_gsnr_from_gradients
from hwnas.spaces.nb201_ops import TinyNetwork

torch.set_num_threads(1)  # the machine is shared; these are tiny networks anyway

SHAPE = (3, 8, 8)
CLASSES = 5
CONNECTED = ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "nor_conv_3x3", "skip_connect")
DISCONNECTED = ("none",) * 6
ALL = (
    "az_complexity", "az_expressivity", "az_nas", "az_progressivity", "az_trainability", "fisher",
    "flops", "grad_norm", "grasp", "jacob_cov", "meco", "naswot", "params", "snip", "swap", "synflow", "synflow_log1p",
    "xi_gsnr", "vkdnw", "vkdnw_dim", "vkdnw_single", "zen", "zico",
)


def tiny_nb201(ops: tuple[str, ...] = CONNECTED) -> TinyNetwork:
    """NB201 skeleton at its smallest: C=4, one cell per stage (3 cells + 2 reduction blocks)."""
    return TinyNetwork(ops, num_classes=CLASSES, channels=4, cells_per_stage=1)


def orthogonal_1x1(channels: int, scale: float, seed: int) -> nn.Conv2d:
    """A bias-free 1x1 conv whose weight is ``scale`` x a random orthogonal matrix: its
    Jacobian has every singular value equal to ``scale``."""
    q, _ = torch.linalg.qr(torch.randn(channels, channels, generator=torch.Generator().manual_seed(seed)))
    conv = nn.Conv2d(channels, channels, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(scale * q[:, :, None, None])
    return conv


def mlp(bn: bool = False, seed: int = 0) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten(), nn.Linear(48, 16)]
    if bn:
        layers.append(nn.BatchNorm1d(16))
    layers += [nn.ReLU(), nn.Linear(16, CLASSES)]
    return init_kaiming_normal(nn.Sequential(*layers), seed)


# --- registry, probe batch, initialisation --------------------------------------------------------
def test_registry_lists_every_proxy_with_its_metadata():
    assert PROXIES.names() == sorted(ALL)
    for name in ALL:
        proxy = get_proxy(name)
        assert proxy.name == name and proxy.description and proxy.cost in COST_CLASSES
    assert get_proxy("az_nas").outputs == ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
    assert get_proxy("nwot").name == "naswot" and get_proxy("JACOV").name == "jacob_cov"
    with pytest.raises(HwnasUsageError, match="did you mean synflow"):
        get_proxy("synflw")
    with pytest.raises(HwnasUsageError, match="several scores"):
        get_proxy("az_nas").score(tiny_nb201(), SHAPE)


def test_make_batch_uses_a_private_seeded_generator():
    state = torch.get_rng_state()
    a = make_batch(SHAPE, 16, CLASSES, seed=3)
    b = make_batch(SHAPE, 16, CLASSES, seed=3)
    c = make_batch(SHAPE, 16, CLASSES, seed=4)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is untouched
    assert a.inputs.shape == (16, *SHAPE) and a.inputs.dtype == torch.float32
    assert a.labels.shape == (16,) and a.labels.dtype == torch.int64 and a.num_classes == CLASSES
    assert int(a.labels.min()) >= 0 and int(a.labels.max()) < CLASSES
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.inputs, c.inputs)
    batches = make_batches(SHAPE, 16, CLASSES, seed=3, count=3)
    assert torch.equal(batches[0].inputs, a.inputs)
    assert not torch.equal(batches[1].inputs, batches[2].inputs)


def test_init_kaiming_normal_is_fan_in_and_seeded():
    net = nn.Sequential(nn.Conv2d(32, 64, 3, bias=True), nn.BatchNorm2d(64), nn.Flatten(), nn.Linear(64, 10))
    with torch.no_grad():
        net[1].weight.fill_(3.0)
        net[1].running_mean.fill_(2.0)
    state = torch.get_rng_state()
    init_kaiming_normal(net, seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    w = net[0].weight.detach()
    expected_std = math.sqrt(2.0 / (32 * 3 * 3))  # gain sqrt(2) over sqrt(fan_in)
    assert abs(float(w.std()) / expected_std - 1.0) < 0.03 and abs(float(w.mean())) < 0.03 * expected_std
    assert torch.count_nonzero(net[0].bias) == 0
    assert torch.all(net[1].weight == 1) and torch.all(net[1].bias == 0) and torch.all(net[1].running_mean == 0)
    again = init_kaiming_normal(copy.deepcopy(net), seed=1)
    other = init_kaiming_normal(copy.deepcopy(net), seed=2)
    assert torch.equal(again[0].weight, net[0].weight) and torch.equal(again[3].weight, net[3].weight)
    assert not torch.equal(other[0].weight, net[0].weight)


# --- free proxies --------------------------------------------------------------------------------
def test_params_and_flops_equal_hwnas_counting():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, CLASSES))
    for model in (net, tiny_nb201()):
        assert get_proxy("params").score(model, SHAPE) == count_params(model)
        flops = count_flops(model, SHAPE, convention="nb201")
        assert get_proxy("flops").score(model, SHAPE) == flops
        assert get_proxy("az_complexity").score(model, SHAPE) == count_flops(model, SHAPE, convention="conv_linear",
                                                                             live_only=True)


# --- synflow -------------------------------------------------------------------------------------
def test_synflow_is_the_log_of_the_conserved_flow_and_ignores_batchnorm():
    # Bias-free chain of |W|: R = 1^T |W2| |W1| 1, and each layer's sum of theta * dR/dtheta
    # equals R (synaptic flow is conserved layer by layer), so synflow = log(2 R).
    chain = mlp(seed=0)
    for layer in (chain[1], chain[3]):
        layer.bias = None
    w1, w2 = chain[1].weight.detach().double().abs(), chain[3].weight.detach().double().abs()
    flow = float(torch.ones(CLASSES, dtype=torch.float64) @ w2 @ w1 @ torch.ones(48, dtype=torch.float64))
    before = copy.deepcopy(chain.state_dict())
    score = get_proxy("synflow").score(chain, (3, 4, 4))
    assert score == pytest.approx(math.log(2 * flow), rel=1e-12)
    assert all(torch.equal(before[k], v) for k, v in chain.state_dict().items())  # model untouched
    # BN is bypassed: inserting a BN layer with arbitrary statistics changes nothing
    with_bn = nn.Sequential(chain[0], chain[1], nn.BatchNorm1d(16), chain[2], chain[3])
    with torch.no_grad():
        with_bn[2].running_mean.fill_(3.0)
        with_bn[2].running_var.fill_(0.1)
        with_bn[2].weight.fill_(5.0)
    assert get_proxy("synflow").score(with_bn, (3, 4, 4)) == pytest.approx(score, rel=1e-12)
    # data-free: the seed does not matter
    assert get_proxy("synflow").score(chain, (3, 4, 4), seed=7) == score


def test_synflow_log1p_sums_weight_times_log1p_gradient():
    # Bias-free chain, ones input, |W|: dR/dW1[i, j] = sum_k |W2[k, i]| (times x_j = 1) and
    # dR/dW2[k, i] = h_i = sum_j |W1[i, j]|, so FreeREA's LogSynflow is, exactly,
    # sum_ij |W1_ij| log(1 + c_i) + sum_ki |W2_ki| log(1 + h_i) with c = 1^T |W2|.
    chain = mlp(seed=3)
    for layer in (chain[1], chain[3]):
        layer.bias = None
    w1, w2 = chain[1].weight.detach().double().abs(), chain[3].weight.detach().double().abs()
    c, h = w2.sum(0), w1.sum(1)
    expected = float((w1 * torch.log1p(c)[:, None]).sum() + (w2 * torch.log1p(h)[None, :]).sum())
    score = get_proxy("synflow_log1p").score(chain, (3, 4, 4))
    assert score == pytest.approx(math.log(expected), rel=1e-12)
    assert get_proxy("freerea_logsynflow").name == "synflow_log1p"


def test_synflow_of_a_network_with_a_zeroed_layer_is_minimal():
    def convnet(width: int, seed: int) -> nn.Sequential:
        return init_kaiming_normal(nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, CLASSES),
        ), seed)

    zeroed = convnet(8, 0)
    with torch.no_grad():
        zeroed[3].weight.zero_()
    scores = {
        "wide": get_proxy("synflow").score(convnet(8, 0), SHAPE),
        "narrow": get_proxy("synflow").score(convnet(2, 1), SHAPE),
        "zeroed": get_proxy("synflow").score(zeroed, SHAPE),
    }
    assert math.isfinite(scores["wide"]) and math.isfinite(scores["narrow"])
    assert scores["zeroed"] == -math.inf and min(scores, key=scores.get) == "zeroed"
    assert scores["wide"] > scores["narrow"]
    # an NB201 network whose cells are all `none` carries no flow either
    assert get_proxy("synflow").score(tiny_nb201(DISCONNECTED), SHAPE) == -math.inf


# --- AZ-NAS --------------------------------------------------------------------------------------
def sign_vectors(scales: tuple[float, ...]) -> torch.Tensor:
    """All 2^c sign patterns, scaled per channel: the covariance is exactly diag(scales^2) x const."""
    signs = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=len(scales))), dtype=torch.float64)
    return signs * torch.tensor(scales, dtype=torch.float64)


def test_expressivity_is_maximal_for_isotropic_features():
    # AZ-NAS Fig. 2: isotropic features reach the maximum entropy log(c) ...
    iso = sign_vectors((1.0, 1.0, 1.0, 1.0))
    assert feature_entropy(iso) == pytest.approx(math.log(4), abs=1e-12)
    # ... an anisotropic covariance diag(1, 0.09) scores its eigenvalue entropy, below log 2 ...
    aniso = sign_vectors((1.0, 0.3))
    p = np.array([1.0, 0.09]) / 1.09
    assert feature_entropy(aniso) == pytest.approx(float(-(p * np.log(p)).sum()), abs=1e-12)
    assert feature_entropy(aniso) < feature_entropy(sign_vectors((1.0, 1.0))) == pytest.approx(math.log(2))
    # ... and a rank-1 (dimensionally collapsed) feature scores 0, with no NaN from rounding
    t = torch.randn(500, 1, generator=torch.Generator().manual_seed(0))
    collapsed = torch.cat([t, 2 * t, -t, 0 * t], dim=1)
    assert feature_entropy(collapsed) == pytest.approx(0.0, abs=1e-9)
    # features without variance have no entropy: -inf (a disconnected network)
    assert feature_entropy(torch.ones(10, 4)) == -math.inf
    # [N, C, H, W]: every sample and position is one C-vector
    maps = torch.randn(6, 3, 4, 5, generator=torch.Generator().manual_seed(1))
    assert feature_entropy(maps) == pytest.approx(feature_entropy(maps.permute(0, 2, 3, 1).reshape(-1, 3)), rel=1e-12)


def test_expressivity_and_progressivity_sum_and_difference_block_entropies():
    ones = torch.ones(4, 4, 1, 1)  # every output channel the same sum: a rank-1 block
    collapse = nn.Conv2d(4, 4, 1, bias=False)
    with torch.no_grad():
        collapse.weight.copy_(ones)
    iso_net = nn.Sequential(orthogonal_1x1(4, 1.0, 0), orthogonal_1x1(4, 1.0, 1), nn.ReLU())
    collapsed_net = nn.Sequential(orthogonal_1x1(4, 1.0, 0), collapse, nn.ReLU())
    data = make_batch((4, 8, 8), 32, CLASSES, seed=0)
    for net in (iso_net, collapsed_net):
        feats = []
        x = data.inputs
        for block in net:
            x = block(x)
            feats.append(x.detach())
        h = [feature_entropy(f) for f in feats]
        ctx = ScoringContext(net, (4, 8, 8), seed=0, batch=data)
        assert ctx.evaluate(get_proxy("az_expressivity"))["az_expressivity"] == pytest.approx(sum(h), rel=1e-9)
        assert ctx.evaluate(get_proxy("az_progressivity"))["az_progressivity"] == pytest.approx(
            min(h[1] - h[0], h[2] - h[1]), rel=1e-9)
    score = get_proxy("az_expressivity").score
    assert score(iso_net, (4, 8, 8), batch=data) > score(collapsed_net, (4, 8, 8), batch=data) + 1.0
    assert expressivity_progressivity([0.5, 1.0, 2.0]) == (3.5, 0.5)
    assert expressivity_progressivity([0.5, -math.inf, 2.0]) == (-math.inf, -math.inf)


def test_trainability_is_zero_for_norm_preserving_blocks():
    assert trainability_from_sigmas([1.0, 1.0, 1.0]) == pytest.approx(0.0, abs=1e-5)
    assert trainability_from_sigmas([2.0]) == pytest.approx(-0.5, abs=1e-5)
    assert trainability_from_sigmas([0.5]) == pytest.approx(trainability_from_sigmas([2.0]), abs=1e-5)

    def chain(scale: float) -> nn.Sequential:
        # stem, two scaled orthogonal blocks, an orthogonal block and a space-to-depth block
        return nn.Sequential(orthogonal_1x1(4, 1.0, 0), orthogonal_1x1(4, scale, 1),
                             orthogonal_1x1(4, scale, 2), orthogonal_1x1(4, 1.0, 3), nn.PixelUnshuffle(2))

    score = get_proxy("az_trainability").score
    # every block Jacobian has spectral norm 1: Eq. 11 is at its maximum 0, up to the
    # Rademacher estimator's sampling error (sigma ~ (1 + sqrt(c/n))^2, n = 16k-65k rows)
    norm_preserving = score(chain(1.0), (4, 32, 32), batch=64, num_classes=1)
    assert -5e-3 < norm_preserving <= 0.0
    # blocks that double or halve every direction are penalised alike: two of four blocks at -0.5
    assert score(chain(2.0), (4, 32, 32), batch=64, num_classes=1) == pytest.approx(-0.25, abs=0.01)
    assert score(chain(0.5), (4, 32, 32), batch=64, num_classes=1) == pytest.approx(-0.25, abs=0.01)
    # an exact identity block (input gradient == output gradient) scores -inf, as in the official code
    identity = nn.Sequential(orthogonal_1x1(4, 1.0, 0), orthogonal_1x1(4, 1.0, 1), nn.Identity())
    assert score(identity, (4, 32, 32), batch=64, num_classes=1) == -math.inf


def test_block_spectral_norm_is_the_top_singular_value_of_eq_10():
    from hwnas.proxies.passes import block_spectral_norm

    g = torch.Generator().manual_seed(0)
    for c_in, c_out, hw_in, hw_out in ((4, 4, 6, 6), (3, 8, 8, 4)):  # a cell, a reduction block
        conv = nn.Conv2d(c_in, c_out, 3, stride=hw_in // hw_out, padding=1)
        f_in = torch.randn(5, c_in, hw_in, hw_in, generator=g, requires_grad=True)
        f_out = conv(f_in)
        v = torch.randint(0, 2, f_out.shape, generator=g).float() * 2 - 1
        (g_in,) = torch.autograd.grad(f_out, f_in, v, retain_graph=True)
        # Eq. 8-10 written out: one row per output position, the input gradient folded
        # space-to-depth to the output size, A^T = 1/n sum_p g_in(p) v(p)^T
        folded = F.pixel_unshuffle(g_in, hw_in // hw_out) if hw_in != hw_out else g_in
        rows_in = folded.permute(0, 2, 3, 1).reshape(-1, folded.shape[1]).double()
        rows_out = v.permute(0, 2, 3, 1).reshape(-1, c_out).double()
        expected = torch.linalg.matrix_norm(rows_in.T @ rows_out / rows_out.shape[0], ord=2)
        assert block_spectral_norm(f_in, f_out, v) == pytest.approx(float(expected), rel=1e-5)


def test_az_nas_reads_stem_and_every_block_of_nb201():
    net = tiny_nb201()
    ctx = ScoringContext(net, SHAPE, seed=0, batch=16, num_classes=CLASSES)
    scores = ctx.evaluate(get_proxy("az_nas"))
    main = ctx.main_pass(frozenset())
    assert len(main.features) == 1 + len(net.cells) == 6  # stem + 3 cells + 2 reduction blocks
    assert len(main.block_sigmas) == 5
    assert scores["az_trainability"] == pytest.approx(trainability_from_sigmas(main.block_sigmas))
    assert all(math.isfinite(v) for v in scores.values())


def test_az_nas_refuses_models_without_primary_blocks():
    class Opaque(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x).mean(dim=(2, 3))

    with pytest.raises(HwnasUsageError, match="proxy_blocks"):
        get_proxy("az_expressivity").score(Opaque(), SHAPE)

    class NotChained(Opaque):
        def __init__(self) -> None:
            super().__init__()
            self.other = nn.Conv2d(3, 4, 3)

        def proxy_blocks(self) -> list[nn.Module]:
            return [self.conv, self.other]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (self.conv(x) + self.other(x)).mean(dim=(2, 3))

    with pytest.raises(HwnasUsageError, match="not fed by"):
        get_proxy("az_expressivity").score(NotChained(), SHAPE)


# --- naswot --------------------------------------------------------------------------------------
def test_naswot_is_the_logdet_of_the_binary_code_kernel():
    net = mlp(seed=0)
    data = make_batch((3, 4, 4), 16, CLASSES, seed=0)
    codes = (net[1](net[0](data.inputs)) > 0).double()  # the only ReLU's input
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T  # units where two samples agree
    assert torch.all(torch.diagonal(kernel) == 16)
    expected = float(torch.linalg.slogdet(kernel)[1])
    assert get_proxy("naswot").score(net, (3, 4, 4), batch=data) == pytest.approx(expected, rel=1e-12)
    inplace = copy.deepcopy(net)
    inplace[2] = nn.ReLU(inplace=True)
    assert get_proxy("naswot").score(inplace, (3, 4, 4), batch=data) == pytest.approx(expected, rel=1e-12)


def test_naswot_prefers_distinct_codes_over_collapsed_ones():
    distinct = mlp(seed=0)
    collapsed = mlp(seed=0)  # every pre-activation is +1: all samples share one code
    with torch.no_grad():
        collapsed[1].weight.zero_()
        collapsed[1].bias.fill_(1.0)
    nearly = mlp(seed=0)  # inputs barely move the pre-activations: few units ever switch
    with torch.no_grad():
        nearly[1].weight.mul_(0.02)
        nearly[1].bias.fill_(0.1)
    score = get_proxy("naswot").score
    s_distinct, s_nearly = score(distinct, (3, 4, 4), batch=16), score(nearly, (3, 4, 4), batch=16)
    assert math.isfinite(s_distinct)
    assert score(collapsed, (3, 4, 4), batch=16) == -math.inf
    assert s_distinct > s_nearly


# --- swap ----------------------------------------------------------------------------------------
def test_swap_counts_the_distinct_sample_wise_patterns_of_every_relu_unit():
    net = mlp(seed=0)
    twice = nn.Sequential(*net[:2], nn.ReLU(), nn.ReLU(inplace=True), *net[2:])  # same units read twice
    for batch in (16, 40, 5):  # patterns span the first min(16, B) samples
        data = make_batch((3, 4, 4), batch, CLASSES, seed=1)
        pre = net[1](net[0](data.inputs)).detach()  # the only ReLU's input, [B, 16 units]
        s = min(batch, 16)
        expected = len({tuple(bool(v > 0) for v in pre[:s, n]) for n in range(pre.shape[1])})
        assert 1 < expected <= 16
        assert get_proxy("swap").score(net, (3, 4, 4), batch=data) == expected
        assert get_proxy("swap").score(twice, (3, 4, 4), batch=data) == expected  # counted once
    collapsed = mlp(seed=0)  # every pre-activation is +1: one pattern
    with torch.no_grad():
        collapsed[1].weight.zero_()
        collapsed[1].bias.fill_(1.0)
    assert get_proxy("swap").score(collapsed, (3, 4, 4), batch=16) == 1.0
    with pytest.raises(HwnasUsageError, match="nn.ReLU"):
        get_proxy("swap").score(nn.Sequential(nn.Flatten(), nn.Linear(48, CLASSES)), (3, 4, 4))


def test_swap_reads_units_of_every_relu_and_position():
    model = init_kaiming_normal(tiny_nb201(), seed=0)
    data = make_batch(SHAPE, 16, CLASSES, seed=0)
    codes: list[torch.Tensor] = []
    handles = [m.register_forward_pre_hook(lambda m, i: codes.append((i[0] > 0).reshape(16, -1)))
               for m in model.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        model.train()(data.inputs)
    for h in handles:
        h.remove()
    units = torch.cat(codes, dim=1)
    expected = len({tuple(col.tolist()) for col in units.T})
    assert expected > 50
    assert get_proxy("swap").score(model, SHAPE, batch=data) == expected


# --- the gradient proxies against their definitions ---------------------------------------------
def test_gradient_proxies_match_their_definitions():
    net = mlp(bn=True, seed=0)
    data = make_batch((3, 4, 4), 16, CLASSES, seed=5)
    ref = copy.deepcopy(net).train()
    linears = [ref[1], ref[4]]
    outs: list[torch.Tensor] = []

    def keep(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        out.retain_grad()
        outs.append(out)

    hooks = [m.register_forward_hook(keep) for m in linears]
    logits = ref(data.inputs)
    for h in hooks:
        h.remove()
    F.cross_entropy(logits, data.labels).backward()
    x = data.inputs.clone().requires_grad_(True)
    logits = copy.deepcopy(net).train()(x)
    (jac,) = torch.autograd.grad(logits, x, torch.ones_like(logits))
    grad_norm = sum(float(m.weight.grad.norm()) for m in linears)
    snip = sum(float((m.weight.detach() * m.weight.grad).abs().sum()) for m in linears)
    # zero-cost-nas weights each output channel by the weights it owns (in_features for a linear)
    fisher = sum(float(0.5 * (o.detach() * o.grad).pow(2).mean(0).sum()) * m.in_features for o, m in zip(outs, linears))
    lam = np.clip(np.linalg.eigvalsh(np.corrcoef(jac.reshape(16, -1).numpy().astype(np.float64))), 0, None)
    jacob_cov = -float(np.sum(np.log(lam + 1e-5) + 1.0 / (lam + 1e-5)))

    got = {name: get_proxy(name).score(net, (3, 4, 4), batch=data)
           for name in ("grad_norm", "snip", "fisher", "jacob_cov")}
    assert got["grad_norm"] == pytest.approx(grad_norm, rel=1e-5)
    assert got["snip"] == pytest.approx(snip, rel=1e-5)
    assert got["fisher"] == pytest.approx(fisher, rel=1e-5)
    assert got["jacob_cov"] == pytest.approx(jacob_cov, rel=1e-5)


def test_xi_gsnr_is_eq10_over_eight_batches_with_zeroed_gradients():
    # by hand: means (2, 2), population variances (1, 0) -> 4 / (1 + xi) + 4 / (0 + xi)
    by_hand = xi_gsnr_from_gradients([torch.tensor([1.0, 2.0]), torch.tensor([3.0, 2.0])], xi=1e-8)
    assert by_hand == pytest.approx(4 / (1 + 1e-8) + 4 / 1e-8, rel=1e-12)

    net = mlp(seed=0)
    per_batch = []
    for data in make_batches((3, 4, 4), 16, CLASSES, seed=2, count=8):
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(data.inputs), data.labels).backward()
        per_batch.append(np.concatenate([net[1].weight.grad.numpy().ravel(), net[3].weight.grad.numpy().ravel()]))
    net.zero_grad(set_to_none=True)
    g = np.array(per_batch, dtype=np.float64)
    expected = float(np.sum(g.mean(0) ** 2 / (g.var(0) + 1e-8)))
    assert get_proxy("xi_gsnr").score(net, (3, 4, 4), seed=2, batch=16) == pytest.approx(expected, rel=1e-5)


# --- the shared pass, determinism, finiteness ----------------------------------------------------
def test_shared_pass_proxies_cost_one_forward():
    batch_forwards = []

    def factory() -> nn.Module:
        net = tiny_nb201()
        net.register_forward_hook(lambda m, i, o: batch_forwards.append(i[0].shape[0]))
        return net

    names = ["naswot", "swap", "meco", "grad_norm", "snip", "fisher", "jacob_cov", "az_nas", "az_trainability"]
    scores = score_all(factory, names, SHAPE, CLASSES, seed=0, batch_size=16)
    assert batch_forwards.count(16) == 1  # (count_flops adds one single-sample forward)
    assert list(scores) == ["naswot", "swap", "meco", "grad_norm", "snip", "fisher", "jacob_cov", "az_expressivity",
                            "az_progressivity", "az_trainability", "az_complexity"]
    # MeCo read off the full shared pass (gradients on, every hook) equals a MeCo-only pass, bit for bit
    from hwnas.proxies.meco import meco_score

    model = init_kaiming_normal(tiny_nb201(), seed=0)
    assert scores["meco"] == meco_score(model, make_batch(SHAPE, 16, CLASSES, seed=0))


def test_scores_are_deterministic_and_independent_of_order_and_company():
    full = score_all(tiny_nb201, ALL, SHAPE, CLASSES, seed=0, batch_size=16)
    assert score_all(tiny_nb201, ALL[::-1], SHAPE, CLASSES, seed=0, batch_size=16) == full
    for name in ("grad_norm", "snip", "fisher", "jacob_cov", "naswot", "az_trainability", "xi_gsnr"):
        assert score_all(tiny_nb201, [name], SHAPE, CLASSES, seed=0, batch_size=16)[name] == full[name]
    # a proxy scored on its own, on the same initialised model, agrees with score_all
    model = init_kaiming_normal(tiny_nb201(), seed=0)
    assert get_proxy("grad_norm").score(model, SHAPE, seed=0, batch=16, num_classes=CLASSES) == full["grad_norm"]
    other_seed = score_all(tiny_nb201, ["naswot", "az_expressivity"], SHAPE, CLASSES, seed=1, batch_size=16)
    assert other_seed["naswot"] != full["naswot"] and other_seed["az_expressivity"] != full["az_expressivity"]


def test_scoring_leaves_the_model_as_it_was():
    model = init_kaiming_normal(tiny_nb201(), seed=0).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    ctx = ScoringContext(model, SHAPE, seed=0, batch=16, num_classes=CLASSES,
                         needs={"relu_codes", "features", "block_grads", "weight_grads", "fisher", "input_jacobian"})
    for name in ALL:
        ctx.evaluate(get_proxy(name))
    assert not model.training and not any(m.training for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # BN stats too
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(torch.get_rng_state(), rng)  # every draw came from private generators


def test_every_proxy_is_finite_on_a_tiny_nb201_except_documented_cases():
    connected = score_all(tiny_nb201, ALL, SHAPE, CLASSES, seed=0, batch_size=16)
    assert all(math.isfinite(v) for v in connected.values()), connected
    # a disconnected network (every edge `none`): the output ignores the input. These scores
    # are documented to be -inf then; the others stay finite.
    dead = score_all(lambda: tiny_nb201(DISCONNECTED), ALL, SHAPE, CLASSES, seed=0, batch_size=16)
    assert {k for k, v in dead.items() if v == -math.inf} == {
        "az_expressivity", "az_progressivity", "naswot", "synflow", "synflow_log1p", "jacob_cov", "zen", "zico"}
    assert all(math.isfinite(v) for k, v in dead.items() if v != -math.inf)
    assert dead["az_trainability"] < connected["az_trainability"]


# --- rank aggregation ----------------------------------------------------------------------------
def test_rank_aggregation_equals_eq12_on_a_hand_made_example():
    columns = {
        "expressivity": np.array([0.3, 0.1, 0.2, 0.4]),  # ranks 3 1 2 4
        "trainability": np.array([-1.0, -0.2, -0.5, -3.0]),  # ranks 2 4 3 1
    }
    m = 4
    expected = [math.log(3 / m) + math.log(2 / m), math.log(1 / m) + math.log(4 / m),
                math.log(2 / m) + math.log(3 / m), math.log(4 / m) + math.log(1 / m)]
    assert nonlinear_rank_aggregate(columns) == pytest.approx(expected, rel=1e-12)
    # the linear sum cannot tell them apart; Eq. 12 prefers the evenly ranked candidates 0 and 2
    assert list(linear_rank_aggregate(columns)) == [5.0, 5.0, 5.0, 5.0]
    assert nonlinear_rank_aggregate(columns, names=["trainability"]) == pytest.approx(
        [math.log(2 / 4), 0.0, math.log(3 / 4), math.log(1 / 4)])


def test_rank_ties_and_nan_are_handled_deterministically():
    values = np.array([1.0, 1.0, 0.0, np.nan])  # NaN counts as -inf: the worst
    assert list(rank_ascending(values)) == [3.5, 3.5, 2.0, 1.0]
    assert list(rank_ascending(values, ties="min")) == [3.0, 3.0, 2.0, 1.0]
    assert list(rank_ascending(values, ties="max")) == [4.0, 4.0, 2.0, 1.0]
    assert list(rank_ascending([-np.inf, np.nan, 0.0])) == [1.5, 1.5, 3.0]
    perm = np.array([2, 0, 3, 1])
    assert list(rank_ascending(values[perm])) == list(rank_ascending(values)[perm])
    with pytest.raises(ValueError, match="differ in length"):
        nonlinear_rank_aggregate({"a": [1, 2], "b": [1, 2, 3]})
    with pytest.raises(KeyError):
        linear_rank_aggregate({"a": [1, 2]}, names=["b"])


def test_block_sigmas_equal_the_retained_graph_computation_bit_for_bit():
    """The shared pass runs the block backward passes last block first, freeing the graph; the
    sigmas are exactly those of the forward-order computation that keeps the graph."""
    from hwnas.init import generator
    from hwnas.proxies.passes import block_spectral_norm, rademacher, run_main_pass
    from hwnas.proxies.probe import make_batch

    for ops in (CONNECTED, ("nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1", "skip_connect")):
        net = tiny_nb201(ops)
        init_kaiming_normal(net, 3)
        data = make_batch(SHAPE, 16, CLASSES, 3)
        got = run_main_pass(net, data, ["features", "block_grads"], seed=3).block_sigmas
        feats = []
        hooks = [b.register_forward_hook(lambda m, i, o: feats.append(o)) for b in [net.stem, *net.cells]]
        net.train()
        net(data.inputs.clone().requires_grad_(True))
        for h in hooks:
            h.remove()
        g = generator(3, "az_nas", "rademacher")
        expected = [block_spectral_norm(feats[i - 1], feats[i], rademacher(feats[i].shape, g))
                    for i in range(1, len(feats))]
        assert got == expected


def test_seen_tensors_tell_a_tensor_met_again_from_a_changed_or_new_one():
    import gc

    from hwnas.proxies.passes import SeenTensors

    seen = SeenTensors()
    t = torch.zeros(3)
    assert seen.first_time(t) and not seen.first_time(t)  # met again: same object, same version
    t.add_(1.0)  # an in-place change makes it new again
    assert seen.first_time(t)
    seen.remember(t, 2.5)
    assert seen.value(t) == 2.5 and seen.value(torch.zeros(3)) is None
    ident = id(t)
    del t
    gc.collect()
    fresh = [torch.zeros(3) for _ in range(50)]  # may reuse the freed id
    assert all(seen.first_time(f) for f in fresh if id(f) == ident) and all(seen.value(f) is None for f in fresh[1:])
