"""Scoring a sample of NAS-Bench-201 architectures for ``hwnas eval proxies``: one architecture
(`score_architecture`) and a whole sample through the score cache (`evaluate_proxies`, giving an
`Evaluation`). Time: milliseconds of wall-clock time per architecture for one *timed call*, i.e.
building the network, Kaiming-normal initialisation and computing the group of proxies that
share that call (see `proxy_groups`), measured with ``time.perf_counter``."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.eval_cache import CacheKey, CachedScore, ScoreCache, version_tag
from hwnas.eval_request import Request, outputs_of, parse_request, proxy_groups
from hwnas.eval_truth import NB201_SIZE, canonical_dataset, check_seed, fixed_sample
from hwnas.progress import progress_bar

if TYPE_CHECKING:
    import os

    from hwnas.proxies.probe import ProxyInput

DEVICES = ("cpu", "cuda")


def _check_device(device: str) -> str:
    import torch

    device = str(device).strip().lower()
    if device not in DEVICES:
        raise HwnasUsageError(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    if device == "cuda" and not torch.cuda.is_available():
        raise HwnasUsageError(
            f"--device cuda: CUDA is not available (torch {torch.__version__}, "
            f"built with CUDA {torch.version.cuda or 'none'}, no usable GPU); use --device cpu"
        )
    return device


def score_architecture(
    index: int,
    names: Sequence[str],
    dataset: str,
    seed: int = 0,
    batch_size: int = 64,
    space: str = "nb201",
    device: str = "cpu",
    probe: "ProxyInput | None" = None,
) -> dict[str, float]:
    """Scores of proxies ``names`` for NB-201 architecture ``index`` on ``dataset``: the network
    from ``get_space(space).build``, Kaiming-normal initialisation and probe batch under the
    per-architecture seed ``hwnas.init.arch_seed(seed, arch)``, all via
    `hwnas.proxies.score_all` on ``device``. Returns {score column: value}."""
    from hwnas.init import arch_seed
    from hwnas.proxies import score_all
    from hwnas.spaces import get_space

    sp = get_space(space)
    arch = sp.parse(str(index))
    spec = sp.dataset(dataset)
    return score_all(lambda: sp.build(arch, spec.name), list(names), spec.input_shape, spec.num_classes,
                     seed=arch_seed(seed, arch), batch_size=batch_size, device=device, probe=probe)


@dataclass
class Evaluation:
    """Scores of one sample on one dataset. Arrays are aligned with ``indices`` (sorted NB-201
    indices). ``columns``: score column -> scores; ``ms`` / ``calls`` / ``groups``: per column and
    architecture, the time (ms), id and proxy group of the timed call that produced the score
    (possibly in an earlier run: the cache keeps them). ``computed``: timed calls run now;
    ``reused``: (architecture, proxy) pairs served from the cache."""

    space: str
    dataset: str
    seed: int
    batch_size: int
    device: str
    indices: np.ndarray
    request: Request
    columns: dict[str, np.ndarray]
    ms: dict[str, np.ndarray]
    calls: dict[str, list[str]]
    groups: dict[str, list[str]]
    computed: int = 0
    reused: int = 0
    timed_groups: list[tuple[str, ...]] = field(default_factory=list)

    def call_ms(self, columns: Sequence[str]) -> np.ndarray:
        """Per architecture: the summed time (ms) of the distinct timed calls that produced
        ``columns`` -- the cost of that set of scores."""
        out = np.zeros(len(self.indices))
        for i in range(len(self.indices)):
            seen: dict[str, float] = {}
            for c in columns:
                seen[self.calls[c][i]] = float(self.ms[c][i])
            out[i] = sum(seen.values())
        return out


def _progress(enabled: bool):
    return progress_bar(enabled)


def evaluate_proxies(
    names: "str | Sequence[str]",
    dataset: str,
    sample: "int | Sequence[int]",
    seed: int = 0,
    batch_size: int = 64,
    cache: "ScoreCache | str | os.PathLike[str] | None" = None,
    progress: bool = True,
    *,
    space: str = "nb201",
    device: str = "cpu",
    separate: bool = False,
    aggregates: Sequence[str] = (),
    recompute: Sequence[str] = (),
    inputs: "str | os.PathLike[str] | None" = None,
) -> Evaluation:
    """Score every architecture of the sample with the requested proxies, reusing the cache.

    ``names``: proxies (list or comma-separated; ``a+b`` items request rank aggregates, see
    `parse_request`). ``sample``: a size n (then ``fixed_sample(n, seed)``) or explicit NB-201
    indices. ``seed``: sample seed and scoring seed; each architecture is scored under
    ``arch_seed(seed, arch)``, so its scores do not depend on the sample or its order.
    ``batch_size``: probe batch size. ``cache``: a `ScoreCache`, a path, or None (in memory only).
    Missing (architecture, proxy) scores are computed in timed calls (`proxy_groups`), and each
    architecture's new scores are committed as soon as it is done: an interrupted run resumes
    where it stopped. ``recompute``: proxies whose cached scores are ignored and overwritten.
    ``inputs``: an ``.npz`` probe set (`hwnas.proxies.load_probe_inputs`) used instead of Gaussian
    batches; its content hash joins the cache key. ``progress``: a rich progress bar on stderr.
    ``device``: "cpu" or "cuda" (a usage error when CUDA is not available)."""
    from hwnas.spaces import get_space

    if get_space(space).name != "nb201":
        raise HwnasUsageError(f"proxy evaluation needs ground-truth accuracy, which exists only for nb201, not {space!r}")
    space = "nb201"
    device = _check_device(device)
    check_seed(seed)
    if int(batch_size) < 1:
        raise HwnasUsageError(f"batch size must be at least 1, got {batch_size}")
    request = parse_request(names, aggregates)
    ds = canonical_dataset(dataset, space)
    if isinstance(sample, (int, np.integer)):
        indices = fixed_sample(int(sample), seed)
    else:
        indices = sorted({int(i) for i in sample})
        if not indices or indices[0] < 0 or indices[-1] >= NB201_SIZE:
            raise HwnasUsageError(f"sample indices must be NAS-Bench-201 indices 0..{NB201_SIZE - 1}")
    redo = {n for n in parse_request(list(recompute)).proxies} if recompute else set()

    own_cache = not isinstance(cache, ScoreCache)
    store = ScoreCache(":memory:" if cache is None else cache) if own_cache else cache
    assert isinstance(store, ScoreCache)
    probe, version = None, version_tag()
    if inputs is not None:
        import hashlib

        from hwnas.proxies import load_probe_inputs

        spec = get_space(space).dataset(ds)
        probe = load_probe_inputs(inputs, spec.input_shape, spec.num_classes)
        digest = hashlib.sha256(probe.inputs.numpy().tobytes() + probe.labels.numpy().tobytes()).hexdigest()[:16]
        version = f"{version}+inputs:{digest}"
    key = CacheKey(space, ds, int(seed), int(batch_size), version, device)
    proxies = list(request.proxies)
    columns = {p: outputs_of(p) for p in proxies}
    all_columns = [c for p in proxies for c in columns[p]]
    try:
        cached = store.lookup(key, indices, all_columns)
        found: dict[tuple[int, str], CachedScore] = dict(cached)
        computed = reused = 0
        timed_groups: list[tuple[str, ...]] = []
        with _progress(progress) as bar:
            task = bar.add_task(f"{ds} x {len(proxies)} proxies", total=len(indices), status="")
            for arch in indices:
                missing = [p for p in proxies
                           if p in redo or any((arch, c) not in found for c in columns[p])]
                reused += len(proxies) - len(missing)
                new: dict[str, CachedScore] = {}
                for group in proxy_groups(missing, separate):
                    start = time.perf_counter()
                    scores = score_architecture(arch, group, ds, seed, batch_size, space, device, probe)
                    if device == "cuda":
                        import torch

                        torch.cuda.synchronize()
                    ms = (time.perf_counter() - start) * 1000.0
                    call, label = uuid.uuid4().hex, "+".join(group)
                    for p in group:
                        for c in columns[p]:
                            new[c] = CachedScore(float(scores[c]), ms, call, label)
                    computed += 1
                    if group not in timed_groups:
                        timed_groups.append(group)
                if new:
                    store.store(key, arch, new)
                    found.update({(arch, c): s for c, s in new.items()})
                bar.update(task, advance=1, status=f"computed {computed} calls, reused {reused}")
    finally:
        if own_cache:
            store.close()

    n = len(indices)
    out_cols = {c: np.array([found[(a, c)].value for a in indices], dtype=np.float64) for c in all_columns}
    out_ms = {c: np.array([found[(a, c)].ms for a in indices], dtype=np.float64) for c in all_columns}
    out_calls = {c: [found[(a, c)].call for a in indices] for c in all_columns}
    out_groups = {c: [found[(a, c)].group for a in indices] for c in all_columns}
    assert all(len(v) == n for v in out_cols.values())
    return Evaluation(space, ds, int(seed), int(batch_size), device, np.asarray(indices, dtype=np.int64), request,
                      out_cols, out_ms, out_calls, out_groups, computed, reused, timed_groups)
