"""Search spaces. Each space is one module registered with ``@SPACES.register(name)``."""

from hwnas.spaces.base import SPACES, Arch, DatasetSpec, Space, get_space
from hwnas.spaces import nb201 as _nb201  # noqa: F401  (registers "nb201")

__all__ = ["SPACES", "Arch", "DatasetSpec", "Space", "get_space"]
