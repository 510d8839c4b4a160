"""Shared fixtures. Tests that read the measurement data skip with a reason where it is absent."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hwnas.data import ENV_VAR, find_data_dir


def _data_file(relative: str) -> Path:
    root = find_data_dir()
    if root is None or not (root / relative).is_file():
        pytest.skip(f"measurement data {relative} not found (set {ENV_VAR} or put shared/data beside the repo)")
    return root / relative


@pytest.fixture(scope="session")
def nb201_accuracy_rows() -> list[dict[str, str]]:
    with open(_data_file("nb201/accuracy.csv"), newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def naslib_rows() -> list[dict[str, str]]:
    with open(_data_file("nb201/proxies_naslib_partial.csv"), newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    """An empty user data folder (HWNAS_HOME) and cost cache (HWNAS_CACHE_DIR), with every
    in-process cache of registered data, cost tables and user devices cleared before and after."""
    from hwnas.devices import _tables
    from hwnas.devices.user import clear_cache

    monkeypatch.setenv("HWNAS_HOME", str(tmp_path / "hwnas-home"))
    monkeypatch.setenv("HWNAS_CACHE_DIR", str(tmp_path / "cache"))
    _tables.clear_cache()
    clear_cache()  # user devices and cost tables
    yield tmp_path
    clear_cache()
    _tables.clear_cache()


@pytest.fixture(scope="session")
def pi5():
    """The Raspberry Pi 5 table of the data directory (HW-NAS-Bench-360, CIFAR-100) as a DataFrame."""
    import pandas as pd

    return pd.read_csv(_data_file("pi5/pi5_litert_torchmobile_cifar100.csv"))


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for a test module (restored after it): faster and steadier on a busy
    2-core machine; modules opt in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
