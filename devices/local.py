"""``--device local``: this machine, profiled live, adapted, and checked after the search.

`prepare_local` times an informative sample of NB201 networks on this machine with onnxruntime
(`hwnas.devices.profile`, batch 1, one thread by default), cached in the user data folder
(``devices/local/profile.csv``: a rerun reuses it, a killed one resumes it), and learns the
user device ``local`` from it with the few-shot adapter (`hwnas.devices.user.adapt_device`).
`check_front` times the front members live afterwards, so a search reports measured beside
predicted latency for every network it returns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwnas.errors import HwnasUsageError

LOCAL = "local"
DEFAULT_SAMPLES = 30
PROFILE_OPTIONS: dict = {}  # repeats / warmup / threads for profile_archs (its defaults when empty)


def profile_path() -> Path:
    """Where the local profile is kept: ``$HWNAS_HOME/devices/local/profile.csv``."""
    from hwnas.devices.user import devices_root

    return devices_root() / LOCAL / "profile.csv"


def prepare_local(dataset: str = "cifar100", samples: int | None = None, seed: int = 0,
                  progress: bool = False, console=None) -> str:
    """Make sure the user device ``local`` exists for ``dataset`` (profile + adapt when it does not);
    returns its name. Profiling ``samples`` networks takes about 1-2 s each on a 2-core CPU."""
    from hwnas.devices.profile import parse_arch_spec, profile_archs
    from hwnas.devices.user import adapt_device, read_measurements, user_devices

    samples = DEFAULT_SAMPLES if samples is None else samples
    existing = user_devices().get(LOCAL)
    if existing is not None and "latency" in existing.metric_names and any(
            c.detail.startswith(dataset) for c in existing.coverage_of("nb201", "latency")):
        return LOCAL
    path = profile_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HwnasUsageError(f"cannot write {path.parent} ({exc.strerror}); set HWNAS_HOME to a writable folder") from None
    if console is not None:
        console.print(f"local: profiling {samples} networks on this machine (onnxruntime, batch 1; cached in "
                      f"{path}) to learn its latency", soft_wrap=True, markup=False)
    indices = parse_arch_spec("nb201", f"sample:{samples}", seed)
    overwrite = path.exists() and _dataset_of(path) not in (None, dataset)
    profile_archs("nb201", dataset, indices, seed=seed, progress=progress, out=path, overwrite=overwrite,
                  **PROFILE_OPTIONS)
    measurements = read_measurements(path, "latency", "nb201")
    adapt_device(LOCAL, measurements, "CPU", description="this machine, profiled live with onnxruntime",
                 seed=seed, space="nb201", dataset=dataset, allow_local=True)
    return LOCAL


def _dataset_of(path: Path) -> str | None:
    import json

    from hwnas.devices.profile import sidecar_path

    try:
        return json.loads(sidecar_path(path).read_text(encoding="utf-8")).get("dataset")
    except (OSError, ValueError):
        return None


def check_front(indices: "list[int] | np.ndarray", predicted_ms: "list[float] | np.ndarray", dataset: str,
                seed: int = 0, progress: bool = False):
    """Time the networks ``indices`` live (the profile's protocol) and compare with the predicted
    latency: a DataFrame ``arch_index, predicted_ms, measured_ms, ratio`` (predicted / measured)."""
    import pandas as pd

    from hwnas.devices.profile import profile_archs

    idx = [int(i) for i in indices]
    measured = profile_archs("nb201", dataset, idx, seed=seed, progress=progress, **PROFILE_OPTIONS)
    got = dict(zip(measured["arch"].astype(int), measured["latency_ms"].astype(float)))
    frame = pd.DataFrame({"arch_index": idx, "predicted_ms": np.asarray(predicted_ms, dtype=np.float64)})
    frame["measured_ms"] = [got[i] for i in idx]
    frame["ratio"] = frame["predicted_ms"] / frame["measured_ms"]
    return frame


def summary(frame) -> dict:
    """Spearman and +-10 % of predicted vs measured over the checked networks."""
    from hwnas.predictors.metrics import compute_metrics

    if len(frame) < 2:
        rel = np.abs(frame["ratio"].to_numpy() - 1.0)
        return {"n": int(len(frame)), "within10_pct": float(100 * np.mean(rel <= 0.10)) if len(frame) else None}
    m = compute_metrics(frame["predicted_ms"].to_numpy(), frame["measured_ms"].to_numpy())
    return {"n": int(len(frame)), "spearman": m.spearman, "within10_pct": m.acc10_pct, "mape_pct": m.mape_pct}
