"""hwnas: hardware-aware neural architecture search without training."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("hwnas")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.2.0"

from hwnas.errors import HwnasUsageError
from hwnas.spaces import SPACES, Arch, Space, get_space



def pareto(device: "str | None" = None, **kwargs):
    """`hwnas.api.pareto`: the ``hwnas pareto`` search from Python, e.g.
    ``hwnas.pareto(device="jetson-tx2", energy_mj=20)`` or ``hwnas.pareto(space="fbnet", flops="300M")``
    -> `ParetoResult` (``.front`` DataFrame)."""
    from hwnas.api import pareto as _pareto

    return _pareto(device, **kwargs)


def predict_cost(space: str, archs, device: str, metric: str = "latency"):
    """`hwnas.devices.costs.predict_cost`: a DataFrame ``arch_index, arch, value, unit, source,
    support, upper`` of ``device``'s ``metric`` (ms / mJ) for ``archs`` (``"all"``, a spec or a list)."""
    from hwnas.devices.costs import predict_cost as _predict_cost

    return _predict_cost(space, archs, device, metric)


__all__ = ["__version__", "HwnasUsageError", "SPACES", "Arch", "Space", "get_space", "pareto", "predict_cost"]
