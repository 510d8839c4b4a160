"""The shipped NB201 proxy score table is a cache of real computation: live recomputation of
sampled entries gives the same scores."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.proxies.table import shipped_scores, table_batch_size, table_batch_sizes, table_info

INFO = table_info()
pytestmark = pytest.mark.skipif(INFO is None, reason="no score table shipped")


SETTINGS = [(d, b) for d in (INFO or {}).get("datasets", []) for b in table_batch_sizes(d)]


@pytest.mark.parametrize("dataset,batch", SETTINGS, ids=[f"{d}-b{b}" for d, b in SETTINGS])
def test_shipped_scores_match_live_computation(dataset, batch):
    """Every (dataset, batch size) the table holds, its default and its extra batch sizes."""
    import torch

    from hwnas.eval import score_architecture
    from hwnas.spaces.nb201 import representative_indices

    torch.set_num_threads(1)
    proxies = tuple(INFO["proxies"])
    table = shipped_scores("nb201", dataset, proxies, INFO["seed"], batch)
    assert table and set(table) <= set(int(r) for r in np.unique(representative_indices()))
    rng = np.random.default_rng(0)
    # 186: a cell whose only live path is a skip (identity block: trainability -inf)
    for index in [186, *rng.choice(sorted(table), 3, replace=False)]:
        live = score_architecture(int(index), proxies, dataset, INFO["seed"], batch)
        for column, value in table[int(index)].items():
            assert live[column] == pytest.approx(value, rel=1e-4, abs=1e-6), (index, column)
    assert table[186]["az_trainability"] == -np.inf


def test_table_is_only_used_for_its_own_setting():
    proxies = tuple(INFO["proxies"])
    ds = INFO["datasets"][0]
    batch = table_batch_size(ds)
    assert shipped_scores("nb201", ds, proxies, INFO["seed"], batch) is not None
    assert shipped_scores("nb201", ds, proxies, INFO["seed"] + 1, batch) is None
    assert shipped_scores("nb201", ds, proxies, INFO["seed"], batch * 2) is None
    assert shipped_scores("nb201", ds, ("snip",), INFO["seed"], batch) is None
    assert shipped_scores("nb201", ds, (*proxies, "snip"), INFO["seed"], batch) is None
    assert table_batch_size("no-such-dataset") is None and table_batch_sizes("no-such-dataset") == ()
    for d in INFO["datasets"]:
        sizes = table_batch_sizes(d)
        assert sizes[0] == table_batch_size(d) and len(set(sizes)) == len(sizes)
        for b in sizes:
            assert shipped_scores("nb201", d, proxies, INFO["seed"], b) is not None
        assert shipped_scores("nb201", d, proxies, INFO["seed"], max(sizes) + 1) is None


def test_table_serves_each_of_its_proxies_alone():
    """A subset of the table's proxies is served with just that subset's columns, the same values."""
    from hwnas.eval import outputs_of

    ds = INFO["datasets"][0]
    full = shipped_scores("nb201", ds, tuple(INFO["proxies"]), INFO["seed"], table_batch_size(ds))
    for proxy in INFO["proxies"]:
        part = shipped_scores("nb201", ds, (proxy,), INFO["seed"], table_batch_size(ds))
        assert part is not None and part.keys() == full.keys()
        row = next(iter(part))
        assert list(part[row]) == list(outputs_of(proxy))
        assert all(part[row][c] == full[row][c] or np.isnan(full[row][c]) for c in part[row])


def test_table_serves_az_nas_components_from_its_columns():
    """A component proxy (az_expressivity, ...) is served from the az_nas columns, with the values a
    live call of the component gives; a proxy whose columns the table lacks, or an unknown name, is not."""
    import torch

    from hwnas.eval import score_architecture

    ds = INFO["datasets"][0]
    batch = table_batch_size(ds)
    parts = ("az_expressivity", "az_trainability", "az_complexity")
    served = shipped_scores("nb201", ds, parts, INFO["seed"], batch)
    full = shipped_scores("nb201", ds, ("az_nas",), INFO["seed"], batch)
    assert served is not None and served.keys() == full.keys()
    index = sorted(served)[123]
    assert all(served[index][c] == full[index][c] for c in parts)
    torch.set_num_threads(1)
    live = score_architecture(index, list(parts), ds, INFO["seed"], batch)
    for c in parts:
        assert live[c] == pytest.approx(served[index][c], rel=1e-4, abs=1e-6)
    assert shipped_scores("nb201", ds, ("az_expressivity", "snip"), INFO["seed"], batch) is None
    assert shipped_scores("nb201", ds, ("no_such_proxy",), INFO["seed"], batch) is None
