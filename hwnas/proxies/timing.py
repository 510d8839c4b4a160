"""What one proxy costs: median ms per NB201 network of a live call with that proxy alone.

`time_proxies` times `hwnas.eval.score_architecture(index, [proxy], dataset, batch_size=B)` --
build, init, probe batch, every pass the proxy needs -- on the first ``archs`` networks of the
fixed sample (`hwnas.eval.fixed_sample(200, 0)`), after one untimed warm-up call per proxy, at
``threads`` torch threads. `hwnas proxies` shows the shipped measurement
(``hwnas/_data/proxy_ms.json``, made by ``hwnas proxies --time --out hwnas/_data/proxy_ms.json``)
and ``hwnas proxies --time`` measures on the machine at hand.
"""

from __future__ import annotations

import json
import os
import platform
import time
from importlib import resources
from typing import Callable, Sequence

import numpy as np

SHIPPED = "proxy_ms.json"


def time_proxies(names: Sequence[str], dataset: str = "cifar100", batch_size: int = 64, archs: int = 3,
                 threads: int = 1, on_done: "Callable[[str, float], None] | None" = None) -> dict:
    """{"setting": ..., "ms_per_arch": {proxy: median ms per network}} for ``names`` (module
    docstring). ``on_done(proxy, ms)`` is called after each proxy (progress)."""
    import torch

    from hwnas.eval import fixed_sample, score_architecture

    torch.set_num_threads(int(threads))
    indices = fixed_sample(200, 0)[: int(archs)]
    result: dict[str, float] = {}
    for name in names:
        score_architecture(indices[0], [name], dataset, batch_size=batch_size)  # warm-up
        times = []
        for index in indices:
            start = time.perf_counter()
            score_architecture(index, [name], dataset, batch_size=batch_size)
            times.append((time.perf_counter() - start) * 1000.0)
        result[name] = round(float(np.median(times)), 1)
        if on_done is not None:
            on_done(name, result[name])
    return {
        "setting": {"space": "nb201", "dataset": dataset, "batch_size": int(batch_size), "archs": int(archs),
                    "threads": int(threads), "sample": "hwnas.eval.fixed_sample(200, 0)[:archs]"},
        "measured_on": time.strftime("%Y-%m-%d"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "torch": torch.__version__},
        "ms_per_arch": result,
    }


def shipped_proxy_ms() -> dict | None:
    """The shipped measurement (`time_proxies`' record), or None if the package has none."""
    path = resources.files("hwnas._data").joinpath(SHIPPED)
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def setting_text(record: dict) -> str:
    """One line saying where a `time_proxies` record was measured."""
    s, m = record["setting"], record.get("machine", {})
    return (f"ms/arch: median of {s['archs']} NB201 {s['dataset']} networks, batch {s['batch_size']}, "
            f"{s['threads']} thread(s), each proxy alone (build + init + passes); "
            f"{m.get('cpus', '?')}-core {m.get('cpu', '?')}, measured {record.get('measured_on', '?')}")
