"""Zero-cost proxies: scores of untrained networks that predict their trained accuracy.

Registered proxies (``PROXIES.names()``), by cost class:

* free: ``params``, ``flops``, ``az_complexity``
* forward: ``naswot``, ``swap``, ``zen``, ``meco``, ``az_expressivity``, ``az_progressivity``
* backward: ``grad_norm``, ``snip``, ``fisher``, ``grasp``, ``jacob_cov``, ``synflow``,
  ``az_trainability``, ``az_nas`` (all four AZ-NAS scores)
* multi-batch: ``xi_gsnr``, ``zico``

Use `score_all` for several proxies of one network (shared passes), `get_proxy(name).score`
for one, and `nonlinear_rank_aggregate` / `linear_rank_aggregate` to combine score columns
over candidates.
"""

from hwnas.proxies import (  # noqa: F401  (imported so that they register)
    az_nas,
    fisher,
    flops,
    grad_norm,
    grasp,
    jacob_cov,
    meco,
    naswot,
    params,
    snip,
    swap,
    synflow,
    vkdnw,
    xi_gsnr,
    zen,
    zico,
)
from hwnas.proxies.aggregate import (
    AZ_NAS_COLUMNS,
    linear_rank_aggregate,
    nonlinear_rank_aggregate,
    rank_ascending,
)
from hwnas.proxies.base import (
    COST_CLASSES,
    PROXIES,
    Proxy,
    ProxyInput,
    get_proxy,
    load_probe_inputs,
    make_batch,
    make_batches,
    register,
)

# Importing this package registers every proxy without importing torch (the proxy modules import
# it inside the functions that score a network), so that commands which only read proxy names,
# score columns and cost classes (``hwnas pareto`` with shipped scores) stay quick. The names
# below need torch and are imported on first use.
_LAZY = {
    "init_kaiming_normal": "hwnas.init",
    "ScoringContext": "hwnas.proxies.passes",
    "score_all": "hwnas.proxies.scoring",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "AZ_NAS_COLUMNS",
    "COST_CLASSES",
    "PROXIES",
    "Proxy",
    "ProxyInput",
    "ScoringContext",
    "get_proxy",
    "init_kaiming_normal",
    "linear_rank_aggregate",
    "load_probe_inputs",
    "make_batch",
    "make_batches",
    "nonlinear_rank_aggregate",
    "rank_ascending",
    "register",
    "score_all",
]
