"""NAS-Bench-201 space: the three names of an architecture, the isomorphism key, parsing errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwnas import HwnasUsageError, get_space
from hwnas.spaces import Arch
from hwnas.spaces.nb201 import NUM_ARCHS, OP_NAMES, unique_str

SPACE = get_space("nb201")


def test_round_trip_all_15625_archs():
    seen = set()
    for index in range(NUM_ARCHS):
        arch = SPACE.arch_at(index)
        text = SPACE.to_str(arch)
        again = SPACE.from_str(text)
        assert again == arch
        assert SPACE.index(SPACE.from_genotype(list(again.genotype))) == index
        assert SPACE.parse(str(index)) == arch and SPACE.parse(text) == arch
        seen.add(arch.genotype)
    assert len(seen) == NUM_ARCHS  # a bijection onto all 5^6 genotypes


def test_index_table_matches_official_order(nb201_accuracy_rows):
    assert len(nb201_accuracy_rows) == NUM_ARCHS
    for row in nb201_accuracy_rows:
        assert SPACE.to_str(SPACE.arch_at(int(row["nb201_index"]))) == row["arch_str"]


def test_known_arch_6111_is_the_best_cifar10_cell():
    # from the NAS-Bench-201 record (provenance note of accuracy.csv)
    expected = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    assert SPACE.to_str(SPACE.arch_at(6111)) == expected


def test_isomorphism_key_has_6466_classes():
    keys = {SPACE.key(SPACE.arch_at(i)) for i in range(NUM_ARCHS)}
    assert len(keys) == 6466


def test_isomorphism_key_equals_unique_str(nb201_accuracy_rows):
    mismatches = [r["nb201_index"] for r in nb201_accuracy_rows
                  if SPACE.key(SPACE.arch_at(int(r["nb201_index"]))) != r["unique_str"]]
    assert mismatches == []


def test_key_merges_functionally_equal_cells():
    # node 2 feeds the output only through a `none` edge: its two edges do not matter
    unused = {SPACE.from_genotype([3, g1, g2, 1, 2, 0]).key() for g1 in range(5) for g2 in range(5)}
    assert unused == {"#+((0)@nor_conv_3x3)@nor_conv_1x1+0"}
    # output node fed only by `none` edges: every such cell is the zero network
    zero_cells = [SPACE.from_genotype([g0, g1, g2, 0, 0, 0]) for g0 in range(5) for g1 in range(5) for g2 in range(5)]
    assert {c.key() for c in zero_cells} == {"#+#+#"}
    # an op applied to an exactly-zero node is zero (NATS-Bench's rule)
    assert unique_str(("none", "skip_connect", "nor_conv_3x3", "none", "nor_conv_1x1", "skip_connect")) == "#+#+#+0"
    # different ops stay apart
    assert SPACE.parse("3,3,3,3,3,3").key() != SPACE.parse("2,2,2,2,2,2").key()


@pytest.mark.parametrize("text, fragment", [
    ("15625", "out of range"),
    ("-1", "out of range"),
    ("|nor_conv_3x3~0|", "malformed"),
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown NAS-Bench-201 op 'conv'"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~1|", "should read none~2"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 edge(s)"),
    ("1,2,3", "expected 6 integers"),
    ("1,2,3,4,5,0", "expected 6 integers in [0, 4]"),
    ("resnet", "cannot read NAS-Bench-201 architecture"),
])
def test_bad_arch_text_is_a_usage_error(text, fragment):
    with pytest.raises(HwnasUsageError) as info:
        SPACE.parse(text)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_space_and_dataset_suggest_fixes():
    with pytest.raises(HwnasUsageError, match="did you mean nb201"):
        get_space("nb210")
    with pytest.raises(HwnasUsageError, match="choose one of: cifar10, cifar100, imagenet16-120"):
        SPACE.dataset("imagenet")
    assert SPACE.dataset("ImageNet16-120").num_classes == 120
    assert SPACE.input_shape("imagenet16-120", 4) == (4, 3, 16, 16)


def test_sample_is_seeded_and_in_bounds():
    a = SPACE.sample(np.random.default_rng(0), 50)
    b = SPACE.sample(np.random.default_rng(0), 50)
    assert a == b and all(isinstance(x, Arch) and len(x.genotype) == 6 for x in a)
    assert all(0 <= g < len(OP_NAMES) for x in a for g in x.genotype)


@pytest.mark.parametrize("shape", [(64, 16, 32, 32), (3, 64, 8, 8), (2, 5, 9, 11)])
@pytest.mark.parametrize("window", [(3, 1, 1, False), (2, 2, 0, True)])
def test_channels_last_pool_is_bit_identical_to_plain_avg_pool(shape, window):
    # NB201's pools (the avg_pool_3x3 edge, the 2x2 shortcut of the reduction block) pool a
    # channels-last copy for speed; values and gradients must not change, layouts neither
    import torch.nn.functional as F

    from hwnas.spaces.nb201_ops import ChannelsLastAvgPool2d

    k, stride, pad, include = window
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0), requires_grad=True)
    ours = ChannelsLastAvgPool2d(k, stride=stride, padding=pad, count_include_pad=include)(x)
    plain = F.avg_pool2d(x, k, stride, pad, count_include_pad=include)
    assert torch.equal(ours, plain) and ours.is_contiguous()
    g = torch.randn_like(plain)
    (g_ours,), (g_plain,) = torch.autograd.grad(ours, x, g), torch.autograd.grad(plain, x, g)
    assert torch.equal(g_ours, g_plain) and g_ours.is_contiguous()


def test_skipping_default_init_gives_the_same_initialised_network():
    from hwnas.init import default_init_skipped, init_kaiming_normal
    from hwnas.spaces.nb201_ops import Conv2d

    sp = get_space("nb201")
    arch = sp.parse("1234")
    with default_init_skipped():
        skipped = sp.build(arch, "cifar10")
        bare = Conv2d(2, 2, 1)
    torch.manual_seed(0)
    default = sp.build(arch, "cifar10")  # outside the block: PyTorch's default init runs
    assert not torch.equal(default.classifier.bias, torch.zeros_like(default.classifier.bias))
    torch.manual_seed(0)
    again = Conv2d(2, 2, 1)
    torch.manual_seed(0)
    assert torch.equal(again.weight, torch.nn.Conv2d(2, 2, 1).weight)  # the subclass's default init is PyTorch's
    assert bare.weight.shape == (2, 2, 1, 1)
    a, b = init_kaiming_normal(skipped, 7).state_dict(), init_kaiming_normal(default, 7).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # every parameter and buffer set
