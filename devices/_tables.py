"""Loading the cost tables: the shipped ones (`hwnas/_data`) and the user's (`$HWNAS_HOME`).

Everything is npz (loaded with ``allow_pickle=False``) plus a JSON provenance record, read
lazily and cached; `clear_cache()` forgets them (after `register_hwnasbench`, or in tests).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

HOME_ENV = "HWNAS_HOME"

NB201_TABLE = "nb201_measured"  # shipped: .npz + .json
FBNET_TABLE = "fbnet_measured"
FBNET_LUT = "fbnet_lut"
HWNASBENCH_DIR = "hwnasbench"  # under the user data folder: nb201.npz, fbnet_lut.npz, provenance.json
HW360_DIR = "hw360"  # under the user data folder: nb201.npz, provenance.json (`hwnas data add-hw360`)


def user_data_dir() -> Path:
    """Where registered data lives: ``$HWNAS_HOME``, else ``$XDG_DATA_HOME/hwnas``, else
    ``~/.local/share/hwnas``."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "hwnas"


def _npz_dict(fh) -> dict[str, np.ndarray]:
    with np.load(fh, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@lru_cache(maxsize=None)
def shipped(name: str) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, provenance) of the shipped table ``name`` (``hwnas/_data/<name>.npz|json``)."""
    pkg = resources.files("hwnas._data")
    with pkg.joinpath(f"{name}.npz").open("rb") as fh:
        arrays = _npz_dict(fh)
    meta = json.loads(pkg.joinpath(f"{name}.json").read_text())
    return arrays, meta


@lru_cache(maxsize=None)
def _user(folder: str, name: str, root: str) -> tuple[dict[str, np.ndarray], dict] | None:
    base = Path(root) / folder
    npz, meta = base / f"{name}.npz", base / "provenance.json"
    if not (npz.is_file() and meta.is_file()):
        return None
    with open(npz, "rb") as fh:
        arrays = _npz_dict(fh)
    return arrays, json.loads(meta.read_text())


def registered(name: str, folder: str = HWNASBENCH_DIR) -> tuple[dict[str, np.ndarray], dict] | None:
    """(arrays, provenance) of a registered table: HW-NAS-Bench's (``nb201`` or ``fbnet_lut``) or,
    with ``folder=HW360_DIR``, HW-NAS-Bench-360's (``nb201``); None where nothing is registered."""
    return _user(folder, name, str(user_data_dir()))


def clear_cache() -> None:
    shipped.cache_clear()
    _user.cache_clear()
    from hwnas.devices import costs, fbnet, measured

    costs._nb201_table.cache_clear()  # derived from the measured tables
    fbnet._lut_arrays_at.cache_clear()
    measured._nb201_view_at.cache_clear()
    measured._fbnet_view.cache_clear()
