"""hwnas: hardware-aware neural architecture search without training."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("hwnas")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"

from hwnas.errors import HwnasUsageError
from hwnas.spaces import SPACES, Arch, Space, get_space

__all__ = ["__version__", "HwnasUsageError", "SPACES", "Arch", "Space", "get_space"]
