"""Packaging: every package folder is installed, top-level subpackages map into hwnas.*."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed():
    config = _config()
    listed = set(config["packages"])
    folders = {name: Path(path) for name, path in config["package-dir"].items()}
    found = set()
    for name, folder in folders.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    assert found == listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}; stale: {sorted(listed - found)}"


@pytest.mark.parametrize("name", ["hwnas.predictors", "hwnas.devices", "hwnas.search"])
def test_top_level_folders_install_as_hwnas_subpackages(name):
    module = importlib.import_module(name)
    assert Path(module.__file__).parent.name == name.split(".")[1]


def test_shipped_data_is_package_data():
    assert "*.npz" in _config()["package-data"]["hwnas._data"]
    from importlib import resources

    assert resources.files("hwnas._data").joinpath("nb201_archs.npz").is_file()
