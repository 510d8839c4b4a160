"""Where the optional measurement data lives (`HWNAS_DATA_DIR`).

The main commands never need it: the package ships what they use. Evaluation, benchmarks and
the table-building scripts read it. Resolution order: the ``HWNAS_DATA_DIR`` environment
variable, then ``../shared/data`` beside the current folder, then beside the source checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

from hwnas.errors import HwnasUsageError

ENV_VAR = "HWNAS_DATA_DIR"


def find_data_dir() -> Path | None:
    """The data directory, or None where there is none."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit)
    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return None


def data_file(relative: str) -> Path:
    """Path of ``relative`` inside the data directory; a usage error naming the fix if missing."""
    root = find_data_dir()
    if root is None:
        raise HwnasUsageError(
            f"no data directory found for {relative}: set {ENV_VAR} to a folder holding it "
            "(e.g. a copy of shared/data)"
        )
    path = root / relative
    if not path.is_file():
        raise HwnasUsageError(f"{path} does not exist: point {ENV_VAR} at a data folder that holds {relative}")
    return path
