"""The shipped NB201 proxy score table is a cache of real computation: live recomputation of
sampled entries gives the same scores."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.proxies.table import shipped_scores, table_info

INFO = table_info()
pytestmark = pytest.mark.skipif(INFO is None, reason="no score table shipped")


@pytest.mark.parametrize("dataset", (INFO or {}).get("datasets", []))
def test_shipped_scores_match_live_computation(dataset):
    import torch

    from hwnas.eval import score_architecture
    from hwnas.spaces.nb201 import representative_indices

    torch.set_num_threads(1)
    proxies = tuple(INFO["proxies"])
    table = shipped_scores("nb201", dataset, proxies, INFO["seed"], INFO["batch_size"])
    assert table and set(table) <= set(int(r) for r in np.unique(representative_indices()))
    rng = np.random.default_rng(0)
    # 186: a cell whose only live path is a skip (identity block: trainability -inf)
    for index in [186, *rng.choice(sorted(table), 3, replace=False)]:
        live = score_architecture(int(index), proxies, dataset, INFO["seed"], INFO["batch_size"])
        for column, value in table[int(index)].items():
            assert live[column] == pytest.approx(value, rel=1e-4, abs=1e-6), (index, column)
    assert table[186]["az_trainability"] == -np.inf


def test_table_is_only_used_for_its_own_setting():
    proxies = tuple(INFO["proxies"])
    ds = INFO["datasets"][0]
    assert shipped_scores("nb201", ds, proxies, INFO["seed"] + 1, INFO["batch_size"]) is None
    assert shipped_scores("nb201", ds, proxies, INFO["seed"], INFO["batch_size"] * 2) is None
    assert shipped_scores("nb201", ds, ("synflow",), INFO["seed"], INFO["batch_size"]) is None
