"""GraSP, Zen-score and ZiCo: each proxy's defining property on tiny networks."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from hwnas.proxies import (
    COST_CLASSES,
    PROXIES,
    ProxyInput,
    get_proxy,
    init_kaiming_normal,
    make_batch,
    make_batches,
    score_all,
)
from hwnas.proxies.grasp import hessian_gradient_products
from hwnas.proxies.zen import gaussian_init, zen_score
from hwnas.proxies.zico import zico_from_gradients
from hwnas.spaces.nb201_ops import TinyNetwork

torch.set_num_threads(1)

SHAPE = (3, 8, 8)
CLASSES = 5
CONNECTED = ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "nor_conv_3x3", "skip_connect")
DISCONNECTED = ("none",) * 6
# node 1 is `none`, so the 3x3 conv on edge (2<-1) only ever sees zeros: a dead branch
DEAD_BRANCH = ("none", "skip_connect", "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect")
NEW = ("grasp", "zen", "zico", "meco")


def tiny_nb201(ops: tuple[str, ...] = CONNECTED) -> TinyNetwork:
    return TinyNetwork(ops, num_classes=CLASSES, channels=4, cells_per_stage=1)


def test_new_proxies_are_registered_with_metadata_and_finite_on_a_tiny_nb201():
    for name in NEW:
        assert name in PROXIES.names()
        proxy = get_proxy(name)
        assert proxy.name == name and proxy.description and proxy.cost in COST_CLASSES
    scores = score_all(tiny_nb201, NEW, SHAPE, CLASSES, seed=0, batch_size=16)
    assert all(math.isfinite(v) for v in scores.values()), scores
    again = score_all(tiny_nb201, NEW[::-1], SHAPE, CLASSES, seed=0, batch_size=16)
    assert again == scores  # deterministic, independent of order
    other = score_all(tiny_nb201, NEW, SHAPE, CLASSES, seed=1, batch_size=16)
    assert all(other[k] != scores[k] for k in NEW)  # all depend on the seed (init / batches)


# --- GraSP ----------------------------------------------------------------------------------------
def test_grasp_is_minus_theta_hessian_gradient_with_an_explicit_hessian():
    torch.manual_seed(0)
    net = init_kaiming_normal(nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.BatchNorm1d(6), nn.ReLU(),
                                            nn.Linear(6, CLASSES)), seed=0)
    data = make_batch((3, 2, 2), 8, CLASSES, seed=1)
    ref = copy.deepcopy(net).double().train()
    names = ["1.weight", "4.weight"]
    params = dict(ref.named_parameters())
    shapes = [params[n].shape for n in names]
    sizes = [params[n].numel() for n in names]
    theta = torch.cat([params[n].detach().reshape(-1) for n in names])

    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        chunks = torch.split(flat, sizes)
        override = {n: c.reshape(s) for n, c, s in zip(names, chunks, shapes)}
        logits = functional_call(ref, {**params, **override}, (data.inputs.double(),))
        return F.cross_entropy(logits, data.labels)

    hessian = torch.autograd.functional.hessian(loss_of, theta)  # [102, 102], exact
    grad = torch.autograd.functional.jacobian(loss_of, theta)
    expected = -float(theta @ hessian @ grad)
    assert abs(expected) > 1e-6
    assert get_proxy("grasp").score(net, (3, 2, 2), batch=data) == pytest.approx(expected, rel=1e-4)


def test_grasp_hessian_gradient_product_matches_finite_differences_on_a_tiny_nb201():
    net = init_kaiming_normal(tiny_nb201(), seed=0).double()
    data = make_batch(SHAPE, 8, CLASSES, seed=2)
    data = ProxyInput(data.inputs.double(), data.labels, CLASSES)
    pairs = hessian_gradient_products(net, data)
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]

    def gradient() -> list[torch.Tensor]:
        net.train()
        loss = F.cross_entropy(net(data.inputs), data.labels)
        return [g.detach() for g in torch.autograd.grad(loss, weights)]

    g = gradient()
    h = 1e-5
    with torch.no_grad():
        for w, d in zip(weights, g):
            w.add_(h * d)
    plus = gradient()
    with torch.no_grad():
        for w, d in zip(weights, g):
            w.sub_(2 * h * d)
    minus = gradient()
    with torch.no_grad():
        for w, d in zip(weights, g):
            w.add_(h * d)
    hg_fd = [(p - m) / (2 * h) for p, m in zip(plus, minus)]  # H g along the gradient direction
    for (w, hg), fd in zip(pairs, hg_fd):
        assert torch.allclose(hg, fd, rtol=1e-4, atol=1e-8 * float(fd.abs().max()) + 1e-12)
    by_fd = -sum(float((w.detach() * fd).sum()) for w, fd in zip(weights, hg_fd))
    model32 = init_kaiming_normal(tiny_nb201(), seed=0)
    assert get_proxy("grasp").score(model32, SHAPE, batch=make_batch(SHAPE, 8, CLASSES, seed=2)) == pytest.approx(
        by_fd, rel=1e-3)


def test_grasp_leaves_the_model_as_it_was():
    model = init_kaiming_normal(tiny_nb201(), seed=0).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    get_proxy("grasp").score(model, SHAPE, batch=8, num_classes=CLASSES)
    assert not model.training and all(p.grad is None and p.requires_grad for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# --- Zen-score ------------------------------------------------------------------------------------
def convnet(width: int = 4) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, CLASSES),
    )


def test_zen_bn_scales_restore_the_scale_that_batchnorm_removes():
    # Scaling the first conv by 10 changes nothing after its BN (batch statistics), so the
    # feature difference is unchanged, while that BN's sigma grows 10-fold: Zen-score measures
    # the network as if it had no BN, so it rises by exactly log(10) (up to BN's eps).
    net = gaussian_init(convnet(), seed=0)
    data = make_batch(SHAPE, 16, CLASSES, seed=0)
    scaled = copy.deepcopy(net)
    with torch.no_grad():
        scaled[0].weight.mul_(10.0)
    base = zen_score(net, data, seed=0)
    assert math.isfinite(base)
    assert zen_score(scaled, data, seed=0) - base == pytest.approx(math.log(10.0), abs=1e-4)
    # the same perturbation, twice as large, doubles the feature difference of this piecewise
    # linear network: + log 2
    assert zen_score(net, data, seed=0, mixup_gamma=2e-2) - base == pytest.approx(math.log(2.0), abs=0.02)


def test_zen_is_a_property_of_the_architecture_under_gaussian_init():
    a = init_kaiming_normal(tiny_nb201(), seed=0)
    b = init_kaiming_normal(tiny_nb201(), seed=5)
    with torch.no_grad():
        b.classifier.weight.mul_(3.0)
    score = get_proxy("zen").score
    assert score(a, SHAPE, seed=0, batch=16) == score(b, SHAPE, seed=0, batch=16)  # weights are redrawn
    # gaussian_init draws N(0, 1) weights
    w = gaussian_init(tiny_nb201(), seed=0).cells[1].conv_a[1].weight.detach()
    assert abs(float(w.std()) - 1.0) < 0.1 and abs(float(w.mean())) < 0.1


def test_zen_of_a_disconnected_network_is_minimal_and_dead_branches_are_skipped():
    score = get_proxy("zen").score
    assert score(tiny_nb201(DISCONNECTED), SHAPE, batch=16) == -math.inf
    dead = score(tiny_nb201(DEAD_BRANCH), SHAPE, batch=16)  # one BN sees only zeros: skipped, finite
    assert math.isfinite(dead)
    with pytest.raises(Exception, match="AdaptiveAvgPool2d"):
        score(nn.Sequential(nn.Flatten(), nn.Linear(3 * 64, CLASSES)), SHAPE, batch=4)


# --- ZiCo -----------------------------------------------------------------------------------------
def test_zico_by_hand_uses_mean_absolute_gradient_over_std():
    layer1 = [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 2.0])]  # w0: mean|g| 2, std 1; w1: std 0, left out
    # w0: mean|g| 2 (not |mean g| = 1), std 2 -> 1; w1: mean|g| 3, std 1 -> 3
    layer2 = [torch.tensor([-1.0, 2.0]), torch.tensor([3.0, 4.0])]
    layer3 = [torch.tensor([5.0]), torch.tensor([5.0])]  # no variation: the layer contributes nothing
    assert zico_from_gradients([layer1, layer2, layer3]) == pytest.approx(math.log(2.0) + math.log(4.0), abs=1e-12)
    # a dimensionless ratio: rescaling every gradient changes nothing
    scaled = [[7.5 * t for t in layer] for layer in (layer1, layer2, layer3)]
    assert zico_from_gradients(scaled) == pytest.approx(zico_from_gradients([layer1, layer2, layer3]), abs=1e-12)
    assert zico_from_gradients([layer3]) == -math.inf
    with pytest.raises(ValueError, match="two batches"):
        zico_from_gradients([[torch.ones(2)]])


def test_zico_of_a_tiny_nb201_equals_the_formula_over_two_batches():
    model = init_kaiming_normal(tiny_nb201(), seed=0)
    ref = copy.deepcopy(model).train()
    layers = [m for m in ref.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    per_batch = []
    for data in make_batches(SHAPE, 16, CLASSES, seed=3, count=2):
        ref.zero_grad(set_to_none=True)
        F.cross_entropy(ref(data.inputs), data.labels).backward()
        per_batch.append([m.weight.grad.detach().double().numpy().ravel() for m in layers])
    expected = 0.0
    for l in range(len(layers)):
        g = np.stack([per_batch[0][l], per_batch[1][l]])
        std = g.std(axis=0)
        ratio = np.abs(g).mean(axis=0)[std > 0] / std[std > 0]
        if ratio.sum() > 0:
            expected += math.log(ratio.sum())
    got = get_proxy("zico").score(model, SHAPE, seed=3, batch=16, num_classes=CLASSES)
    assert got == pytest.approx(expected, rel=1e-5)
    assert get_proxy("zico").score(tiny_nb201(DISCONNECTED), SHAPE, batch=16) == -math.inf


def test_zico_shares_the_first_batch_with_the_shared_pass():
    forwards = []

    def factory() -> nn.Module:
        net = tiny_nb201()
        net.register_forward_hook(lambda m, i, o: forwards.append(i[0].shape[0]))
        return net

    together = score_all(factory, ["grad_norm", "zico", "snip"], SHAPE, CLASSES, seed=0, batch_size=16)
    assert forwards.count(16) == 2  # one shared pass + ZiCo's second batch
    alone = score_all(tiny_nb201, ["zico"], SHAPE, CLASSES, seed=0, batch_size=16)
    assert alone["zico"] == together["zico"]
    everything = score_all(tiny_nb201, ["az_nas", "naswot", "fisher", "jacob_cov", "zico", "grasp", "zen"], SHAPE,
                           CLASSES, seed=0, batch_size=16)
    assert everything["zico"] == alone["zico"]  # the shared pass's other products change nothing


# --- MeCo -----------------------------------------------------------------------------------------
def test_meco_eigenvalue_by_hand():
    from hwnas.proxies.meco import min_correlation_eigenvalue

    base = torch.tensor([[1.0, 2.0], [3.0, 5.0]])  # one channel, 2x2 positions
    noise = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    two = torch.stack([base, 2.0 * base + 1.0])  # perfectly correlated channels: P = [[1, 1], [1, 1]]
    assert min_correlation_eigenvalue(two) == pytest.approx(0.0, abs=1e-12)
    mixed = torch.stack([base, base + noise])
    r = float(torch.corrcoef(mixed.reshape(2, -1).double())[0, 1])
    assert min_correlation_eigenvalue(mixed) == pytest.approx(1.0 - abs(r), abs=1e-12)  # 2x2: 1 - |r|
    const = torch.stack([base, torch.ones(2, 2)])  # a constant channel: its NaN row becomes 0
    assert min_correlation_eigenvalue(const) == pytest.approx(0.0, abs=1e-12)


def test_meco_sums_every_module_output_of_the_first_sample():
    from hwnas.proxies.meco import meco_score, min_correlation_eigenvalue

    net = init_kaiming_normal(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                            nn.Conv2d(4, 6, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                            nn.Linear(6, CLASSES)), seed=0)
    data = make_batch(SHAPE, 8, CLASSES, 0)
    expected, x = 0.0, data.inputs
    net.train()
    with torch.no_grad():
        for m in net:  # the Sequential itself outputs logits (2-d): it adds nothing
            x = m(x)
            if x.dim() >= 3 and x[0, 0].numel() >= 2:
                expected += min_correlation_eigenvalue(x[0])
    net.eval()
    assert meco_score(net, data) == pytest.approx(expected, rel=1e-12)
    assert not net.training  # flags restored


def test_meco_batched_terms_equal_one_by_one_bit_for_bit():
    from hwnas.proxies.meco import PendingTerms, min_correlation_eigenvalue

    g = torch.Generator().manual_seed(0)
    maps = [torch.randn(c, p, generator=g) for c, p in [(4, 16), (4, 16), (6, 9), (4, 16), (3, 2), (6, 9)]]
    maps[1][2] = 1.5  # a constant channel (its NaN row becomes 0)
    maps.append(torch.randn(8, 7, generator=g))  # rank-deficient: 8 channels, 7 positions
    one_by_one = [min_correlation_eigenvalue(m) for m in maps]
    default = PendingTerms()  # float64 maps, default bounds
    assert [default.add(m.double()) for m in maps] == list(range(len(maps)))
    assert default.values() == one_by_one
    # stacks computed as each map arrives, or all at the end, or every map "large" (at once)
    for max_bytes, stack_bytes in ((1, 16 << 20), (1 << 20, 16 << 20), (1 << 20, 16)):
        pending = PendingTerms(max_bytes=max_bytes, stack_bytes=stack_bytes)
        assert [pending.add(m) for m in maps] == list(range(len(maps)))
        assert pending.values() == one_by_one


def test_meco_rank_deficient_map_is_exactly_zero():
    from hwnas.proxies.meco import min_correlation_eigenvalue, rank_deficient

    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(1))  # rank <= 5 after centring
    assert rank_deficient(8, 6) and not rank_deficient(5, 6)
    assert min_correlation_eigenvalue(x) == 0.0
    lapack = float(torch.linalg.eigvalsh(torch.corrcoef(x.double()))[0])  # what it would compute
    assert abs(lapack) < 1e-12


def test_scoring_pauses_the_garbage_collector_and_restores_it():
    import gc

    from hwnas.proxies.memory import collection_paused

    states = []
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        with collection_paused():
            states.append(gc.isenabled())
        states.append(gc.isenabled())
    gc.enable()
    assert states == [False, True, False, False]
    net = TinyNetwork(CONNECTED, CLASSES, channels=4, cells_per_stage=1)
    seen = []
    score_all(lambda: seen.append(gc.isenabled()) or net, ["meco"], SHAPE, CLASSES, batch_size=4)
    assert seen == [False] and gc.isenabled()
