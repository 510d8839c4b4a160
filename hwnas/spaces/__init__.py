"""Search spaces. Each space is one module registered with ``@SPACES.register(name)``."""

from hwnas.spaces.base import SPACES, Arch, DatasetSpec, Space, get_space
from hwnas.spaces import nb201 as _nb201  # noqa: F401  (registers "nb201")
from hwnas.spaces import fbnet as _fbnet  # noqa: F401  (registers "fbnet")
from hwnas.spaces import mbv2 as _mbv2  # noqa: F401  (registers "mbv2")

__all__ = ["SPACES", "Arch", "DatasetSpec", "Space", "get_space"]
