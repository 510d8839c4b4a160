"""The shipped params/FLOPs/representative table (scripts/build_nb201_costs.py) equals live counting."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.counting import model_cost
from hwnas.spaces import get_space
from hwnas.spaces import nb201

SP = get_space("nb201")


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "imagenet16-120"])
def test_table_equals_live_count(dataset):
    params, flops = nb201.cost_arrays(dataset)
    assert params.shape == flops.shape == (15625,)
    spec = SP.dataset(dataset)
    for i in [0, 1, 6111, 15624, *np.random.default_rng(1).choice(15625, 6, replace=False)]:
        live = model_cost(SP.build(SP.arch_at(int(i)), dataset), spec.input_shape)
        assert (params[i], flops[i]) == (live.params, live.flops)
        assert SP.cost(SP.arch_at(int(i)), dataset) == live


def test_representatives_equal_the_counted_rule():
    table = nb201.representative_indices()
    nb201.use_cost_table(False)
    try:
        sample = np.random.default_rng(2).choice(15625, 40, replace=False)
        genotypes, _ = nb201._index_tables()
        for i in sample:
            key = SP.key(SP.arch_at(int(i)))
            members = [j for j in range(15625) if table[j] == table[i]]
            assert all(SP.key(SP.arch_at(j)) == key for j in members)
            ranks = [(nb201._cost_of_op_multiset(tuple(sorted(int(v) for v in genotypes[j])), "cifar10").flops, j)
                     for j in members]
            assert min(ranks)[1] == table[i]
    finally:
        nb201.use_cost_table(True)
