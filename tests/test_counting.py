"""Parameter and FLOP counts: the convention on hand-made modules, then NAS-Bench-201's table."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hwnas import get_space
from hwnas.counting import count_flops, count_params, model_cost

SPACE = get_space("nb201")
DATASET_OF = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16-120"}


def test_convention_on_a_hand_made_network():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),  # 3*3*3*8 per position * 4*4 = 3456
        nn.BatchNorm2d(8),  # 2 * 8*4*4 = 256
        nn.ReLU(),  # 128
        nn.AvgPool2d(2, 2),  # 4 per output * 8*2*2 = 128
        nn.Conv2d(8, 4, 1, bias=True),  # (8*4 + 4) * 2*2 = 144
        nn.AdaptiveAvgPool2d(1),  # (2+1)*(2+1) per channel * 4 = 36
        nn.Flatten(),
        nn.Linear(4, 5),  # 20 (bias not counted)
    )
    assert count_flops(net, (3, 4, 4)) == 3456 + 256 + 128 + 128 + 144 + 36 + 20
    # plain MACs: conv, pool and linear with bias only
    assert count_flops(net, (3, 4, 4), convention="macs") == 3456 + 128 + 144 + 25
    # the NAS-Bench-201 API figure (AZ-NAS's complexity): conv and linear only
    assert count_flops(net, (3, 4, 4), convention="conv_linear") == 3456 + 144 + 25
    assert count_params(net) == 216 + 16 + 36 + 25
    # the batch size of the probe does not change the per-sample count
    assert count_flops(net, (1, 3, 4, 4)) == count_flops(net, (3, 4, 4))
    with pytest.raises(ValueError, match="unknown FLOP convention"):
        count_flops(net, (3, 4, 4), convention="thop")


class DeadBranches(nn.Module):
    """Conv ``a`` feeds the output; conv ``b``'s output is dropped, conv ``c``'s multiplied by 0."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1, bias=False)  # 12 per position x 16 positions = 192
        self.b = nn.Conv2d(3, 4, 3, padding=1, bias=False)  # 108 x 16 = 1728
        self.c = nn.Conv2d(3, 4, 1, bias=False)  # 192
        self.head = nn.Linear(4, 2)  # 8 + 2 (bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.b(x)
        y = self.a(x) + self.c(x).mul(0.0)
        return self.head(y.mean((2, 3)))


def test_live_only_counts_just_the_layers_the_output_depends_on():
    net = DeadBranches()
    net.a.weight.grad = torch.ones_like(net.a.weight)
    assert count_flops(net, (3, 4, 4), "conv_linear") == 192 + 1728 + 192 + 10
    assert count_flops(net, (3, 4, 4), "conv_linear", live_only=True) == 192 + 10
    assert count_flops(net, (1, 3, 4, 4), "macs", live_only=True) == 192 + 10
    # gradients are left as they were
    assert torch.equal(net.a.weight.grad, torch.ones_like(net.a.weight)) and net.b.weight.grad is None


def test_live_only_drops_an_nb201_convolution_that_feeds_only_none_edges():
    # node 1 = conv3x3(node 0) reaches node 3 only through `none` edges: dead
    dead = SPACE.from_str("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|")
    pruned = SPACE.from_str("|none~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|")
    net = SPACE.build(dead, "cifar10")
    full = count_flops(net, (3, 32, 32), "conv_linear")
    live = count_flops(net, (3, 32, 32), "conv_linear", live_only=True)
    assert live == count_flops(SPACE.build(pruned, "cifar10"), (3, 32, 32), "conv_linear") < full
    # a network without dead layers counts the same either way
    assert count_flops(SPACE.build(pruned, "cifar10"), (3, 32, 32), "conv_linear", live_only=True) == live


def test_counting_leaves_the_model_as_it_was():
    net = SPACE.build(SPACE.arch_at(0), "cifar10").train()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    model_cost(net, (3, 32, 32))
    assert net.training
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    assert not any(m._forward_hooks for m in net.modules())


def test_params_and_flops_match_the_nb201_table_for_every_listed_arch(naslib_rows):
    assert len(naslib_rows) > 2000
    worst_params = worst_flops = 0.0
    for row in naslib_rows:
        arch = SPACE.from_str(row["arch_str"])
        cost = SPACE.cost(arch, DATASET_OF[row["dataset"]])
        worst_params = max(worst_params, abs(cost.params_m / float(row["params"]) - 1))
        worst_flops = max(worst_flops, abs(cost.mflops / float(row["flops"]) - 1))
    assert worst_params <= 0.01 and worst_flops <= 0.01, (worst_params, worst_flops)


def test_cached_cost_equals_direct_count_in_every_edge_position():
    # the space caches cost per op multiset; counting each permutation directly must agree
    for genotype in [(3, 0, 4, 2, 1, 3), (2, 4, 3, 3, 0, 1), (0, 0, 0, 0, 0, 4)]:
        for shift in range(6):
            arch = SPACE.from_genotype(genotype[shift:] + genotype[:shift])
            direct = model_cost(SPACE.build(arch, "cifar100"), (3, 32, 32))
            assert SPACE.cost(arch, "cifar100") == direct


def test_nb201_live_macs_from_structure_equal_the_counting_pass():
    """`TinyNetwork.counted_flops` (AZ-NAS complexity without running the network) gives what
    the forward + backward liveness pass counts, on every cell pattern that decides liveness:
    all 2^6 none / conv3x3 patterns, plus skip / pool / conv1x1 mixes, at reduced size."""
    import itertools

    import numpy as np

    from hwnas.init import init_kaiming_normal
    from hwnas.spaces.nb201_ops import TinyNetwork

    rng = np.random.default_rng(0)
    ops_names = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    cells = [tuple("nor_conv_3x3" if b else "none" for b in bits) for bits in itertools.product((0, 1), repeat=6)]
    cells += [tuple(ops_names[i] for i in rng.integers(0, 5, 6)) for _ in range(40)]
    dead = 0
    for ops in cells:
        net = TinyNetwork(ops, num_classes=7, channels=4, cells_per_stage=2)
        init_kaiming_normal(net, 0)
        for shape in ((3, 8, 8), (3, 6, 6)):
            counted = count_flops(net, shape, convention="conv_linear", live_only=True)
            assert net.counted_flops(shape, "conv_linear", True) == counted, (ops, shape)
        dead += counted == 4 * 4 * 7 + 7  # classifier only: the cell output ignores its input
    assert 0 < dead < len(cells)
    # other conventions, and BatchNorm layers off their initial state, fall back to counting
    assert net.counted_flops((3, 8, 8), "nb201", False) is None
    assert net.counted_flops((3, 8, 8), "conv_linear", False) is None
    with torch.no_grad():
        net.lastact[0].bias.fill_(0.1)
    assert net.counted_flops((3, 8, 8), "conv_linear", True) is None


def test_nb201_live_macs_equal_the_shipped_complexity_column():
    """The full-size networks: the structural count equals the az_complexity column of the
    shipped class table (computed by the counting pass) on sampled classes of each dataset."""
    import numpy as np

    from hwnas.proxies.table import shipped_scores, table_batch_size

    for dataset in ("cifar10", "cifar100", "imagenet16-120"):
        batch = table_batch_size(dataset)
        table = shipped_scores("nb201", dataset, ("az_nas",), 0, batch) if batch else None
        if table is None:
            pytest.skip("no shipped score table")
        spec = SPACE.dataset(dataset)
        reps = sorted(table)
        for rep in [186, *np.random.default_rng(1).choice(reps, 25, replace=False)]:
            net = SPACE.build(SPACE.parse(str(int(rep))), spec.name)
            assert net.counted_flops(spec.input_shape, "conv_linear", True) == table[int(rep)]["az_complexity"]
