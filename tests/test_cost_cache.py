"""The disk cache of derived cost tables: identical tables, keys that follow their inputs."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.devices import cost_cache
from hwnas.devices.costs import _build_nb201_table, _nb201_table, cost_table


pytestmark = pytest.mark.usefixtures("isolated_home")


def _same(a, b, rtol: float = 0.0):
    for field in ("values", "source_codes", "extrapolated", "bound"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None), field
        if x is not None:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=0)
    assert (a.provenance, a.measured_input, a.unit) == (b.provenance, b.measured_input, b.unit)


def test_cached_table_is_identical_and_read_back(tmp_path):
    built = _build_nb201_table("eyeriss", "energy")
    first = cost_table("nb201", "eyeriss", "energy")
    _same(first, built)
    files = sorted(p.name for p in (tmp_path / "cache" / "costs").glob("*.npz"))
    assert any(n.startswith("nb201_eyeriss_energy_") for n in files)
    assert any(n.startswith("nb201_eyeriss_latency_") for n in files)  # the energy rests on it
    _nb201_table.cache_clear()
    _same(cost_cache.load("eyeriss", "energy"), built)


def test_key_follows_the_inputs_and_the_switch(tmp_path, monkeypatch):
    key = cost_cache.table_key("raspi4", "latency")
    assert cost_cache.table_key("raspi4", "latency") == key and cost_cache.table_key("pixel3", "latency") != key
    folder = tmp_path / "hwnas-home" / "devices" / "raspi4"  # any input file appearing changes the key
    folder.mkdir(parents=True)
    (folder / "latency.json").write_text("{}")
    assert cost_cache.table_key("raspi4", "latency") != key
    monkeypatch.setenv("HWNAS_COST_CACHE", "0")
    cost_table("nb201", "raspi4", "latency")
    assert not (tmp_path / "cache" / "costs").exists()


def test_shipped_tables_are_current_and_equal_a_fresh_build():
    """scripts/build_cost_tables.py must be rerun when an input of the default command changes."""
    from importlib import resources
    from pathlib import Path

    shipped = Path(str(resources.files("hwnas._data"))) / cost_cache.SHIPPED_DIR
    names = sorted(p.name for p in shipped.glob("*.npz"))
    assert names, "no shipped cost tables"
    for metric in ("latency", "energy"):
        key = cost_cache.table_key("jetson-tx2", metric)
        assert f"nb201_jetson-tx2_{metric}_{key}.npz" in names, f"stale: rerun scripts/build_cost_tables.py ({names})"
    # built in another process: BLAS may sum in another order (differences ~1e-12 relative)
    _same(cost_cache.load("jetson-tx2", "latency"), _build_nb201_table("jetson-tx2", "latency"), rtol=1e-9)
