"""AZ-NAS scoring time against its floor: one forward pass plus one backward pass to the input of
the same network at the same batch and threads, interleaved in one process on the same networks.

    python bench/aznas_floor.py                       # 40 networks, CIFAR-100, batch 64, 2 threads
    python bench/aznas_floor.py --threads 1 --archs 40 --out bench/results/aznas_floor.json
    python bench/aznas_floor.py --threads 1 --proxies jacob_cov,meco,swap   # another score, same floor

Per network, in alternating order (proxy first on even networks, floor first on odd ones):

* proxy: the whole live call a search pays, `hwnas.eval.score_architecture(index, ["az_nas"],
  dataset, batch_size=B)` (or the proxies of ``--proxies``): build, Kaiming-normal init, probe
  batch, the shared forward pass, the block backward passes, the eigen-decompositions and the
  complexity count;
* floor: the same network (built and initialised outside the timer), BatchNorm in training mode
  as in the proxy, ``logits = model(x)`` then ``autograd.grad(logits, x, ones)`` on the same
  Gaussian batch -- what AZ-NAS cannot avoid (its trainability needs gradients at every block
  input). ``floor_cl``: the same in channels-last memory format (network and batch), for reference.

``--space fbnet|mbv2`` (``--dataset imagenet``: 224x224 networks, where AZ-NAS is the default
score and every network is scored live): ``space.sample(numpy.random.default_rng(0), N)``, no
channels-last floor and no table check.

NB201 networks: the first N of ``numpy.random.default_rng(0).choice(15625, 200)``, mapped to their
class representatives so each live score can be checked against the shipped class table
(`hwnas.proxies.table`; it was computed with one thread, so a few ulps may differ). Each network
is measured ``--repeats`` times (default 3, the order alternating each time) and its median
proxy and floor times are used: single measurements on a shared 2-core machine moved the median
ratio by +-0.03 between identical runs. Reports the median proxy / floor ratio over networks and
the ratio of medians; prints a JSON record.
``--breakdown`` (AZ-NAS) also times each part of the call by hand on the same networks (median ms).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np
from _report import emit_record


def _floor_ms(model, x, channels_last: bool) -> float:
    import torch

    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    x = x.detach().clone().requires_grad_(True)
    model.train()
    start = time.perf_counter()
    logits = model(x)
    torch.autograd.grad(logits, x, grad_outputs=torch.ones_like(logits))
    return (time.perf_counter() - start) * 1000.0


def _breakdown_ms(sp, spec, index: int, batch: int) -> dict[str, float]:
    """Time of each part of one AZ-NAS call, done by hand in the call's order (ms)."""
    import torch

    from hwnas.init import arch_seed, generator, init_kaiming_normal
    from hwnas.proxies.az_nas import feature_entropy
    from hwnas.proxies.features import primary_blocks
    from hwnas.proxies.passes import rademacher, spectral_norm_of_block_grads
    from hwnas.proxies.probe import make_batch

    out: dict[str, float] = {}
    t = time.perf_counter()
    arch = sp.parse(str(index))
    seed = arch_seed(0, arch)
    model = sp.build(arch, spec.name)
    init_kaiming_normal(model, seed)
    data = make_batch(spec.input_shape, batch, spec.num_classes, seed)
    out["build_init_batch"] = time.perf_counter() - t
    model.train()
    feats: list = []
    hooks = [b.register_forward_hook(lambda m, i, o: feats.append(o)) for b in primary_blocks(model)]
    x = data.inputs.clone().requires_grad_(True)
    t = time.perf_counter()
    model(x)
    out["forward"] = time.perf_counter() - t
    for h in hooks:
        h.remove()
    t = time.perf_counter()
    g = generator(seed, "az_nas", "rademacher")
    vs = [rademacher(feats[i].shape, g) for i in range(1, len(feats))]
    out["rademacher_draws"] = time.perf_counter() - t
    t = time.perf_counter()
    grads = [torch.autograd.grad(feats[i], feats[i - 1], vs[i - 1], allow_unused=True)[0]
             for i in range(len(feats) - 1, 0, -1)][::-1]
    out["block_backward"] = time.perf_counter() - t
    t = time.perf_counter()
    for gi, v, f in zip(grads, vs, feats):
        spectral_norm_of_block_grads(gi if gi is not None else torch.zeros_like(f), v)
    out["block_sigmas"] = time.perf_counter() - t
    t = time.perf_counter()
    for f in feats:
        feature_entropy(f)
    out["feature_entropies_float64"] = time.perf_counter() - t
    t = time.perf_counter()
    model.counted_flops(spec.input_shape, "conv_linear", True)
    out["complexity"] = time.perf_counter() - t
    return {k: v * 1000.0 for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="nb201", help="nb201, or fbnet / mbv2 (with --dataset imagenet)")
    parser.add_argument("--archs", type=int, default=40)
    parser.add_argument("--dataset", default="cifar100")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--proxies", default="az_nas", help="comma-separated proxies scored in one call")
    parser.add_argument("--repeats", type=int, default=3,
                        help="times each network is measured (order alternating); its median time is used")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time each part of the call by hand (build, forward, draws, backward, ...)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from hwnas.eval import score_architecture
    from hwnas.init import arch_seed, init_kaiming_normal
    from hwnas.proxies.probe import make_batch
    from hwnas.proxies.table import shipped_scores, table_batch_size
    from hwnas.spaces import get_space
    from hwnas.spaces.nb201 import representative_indices

    proxies = tuple(p.strip() for p in args.proxies.split(","))
    sp = get_space(args.space)
    spec = sp.dataset(args.dataset)
    nb201 = sp.name == "nb201"
    if args.breakdown and not nb201:
        raise SystemExit("--breakdown times NB201 networks only")
    table = None
    if nb201:
        reps = representative_indices()
        sample = np.random.default_rng(0).choice(15625, 200, replace=False)
        indices = [int(reps[i]) for i in sample[: args.archs]]
        archs = [sp.parse(str(i)) for i in indices]
        if table_batch_size(args.dataset) == args.batch_size:
            table = shipped_scores("nb201", args.dataset, proxies, 0, args.batch_size)
    else:
        archs = sp.sample(np.random.default_rng(0), args.archs)
        indices = list(range(len(archs)))

    def floor(k: int, channels_last: bool = False) -> float:
        if channels_last and not nb201:
            return math.nan
        arch = archs[k]
        model = sp.build(arch, spec.name)
        seed = arch_seed(0, arch)
        init_kaiming_normal(model, seed)
        data = make_batch(spec.input_shape, args.batch_size, spec.num_classes, seed)
        return _floor_ms(model, data.inputs, channels_last)

    refs = [sp.to_str(arch) for arch in archs]  # the text each space parses back to the network

    def proxy(k: int) -> tuple[float, dict[str, float]]:
        start = time.perf_counter()
        scores = score_architecture(refs[k], list(proxies), args.dataset, batch_size=args.batch_size, space=sp.name)
        return (time.perf_counter() - start) * 1000.0, scores

    proxy(0), floor(0), floor(0, True)  # warm-up, not timed
    rows = []
    worst_rel = 0.0
    for k, index in enumerate(indices):
        timings = []
        for r in range(args.repeats):
            if (k + r) % 2 == 0:
                p_ms, scores = proxy(k)
                f_ms, cl_ms = floor(k), floor(k, True)
            else:
                f_ms, cl_ms = floor(k), floor(k, True)
                p_ms, scores = proxy(k)
            timings.append((p_ms, f_ms, cl_ms))
        rows.append(tuple(np.median(np.asarray(timings), axis=0)))
        if table is not None and index in table:
            for column, ref in table[index].items():
                live = scores[column]
                if np.isfinite(ref) or np.isfinite(live):
                    worst_rel = max(worst_rel, abs(live - ref) / max(abs(ref), 1e-12))
    a = np.asarray(rows)
    parts: dict[str, list[float]] = {}
    if args.breakdown:
        for index in indices:
            for k, v in _breakdown_ms(sp, spec, index, args.batch_size).items():
                parts.setdefault(k, []).append(v)
    record = {
        "command": "python bench/aznas_floor.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None),
        "measured_on": time.strftime("%Y-%m-%d"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "torch": torch.__version__},
        "space": sp.name, "proxies": list(proxies), "archs": len(indices), "repeats": args.repeats, "dataset": args.dataset, "batch_size": args.batch_size,
        "threads": args.threads,
        "proxy_ms_median": round(float(np.median(a[:, 0])), 1),
        "floor_ms_median": round(float(np.median(a[:, 1])), 1),
        "floor_channels_last_ms_median": round(float(np.median(a[:, 2])), 1) if nb201 else None,
        "ratio_median_of_per_network": round(float(np.median(a[:, 0] / a[:, 1])), 3),
        "ratio_of_medians": round(float(np.median(a[:, 0]) / np.median(a[:, 1])), 3),
        "ratio_vs_channels_last_floor": round(float(np.median(a[:, 0] / a[:, 2])), 3) if nb201 else None,
        "ratio_p90_per_network": round(float(np.percentile(a[:, 0] / a[:, 1], 90)), 3),
        "max_rel_diff_vs_shipped_table": None if table is None else float(f"{worst_rel:.3g}"),
    }
    if parts:
        record["breakdown_ms_median"] = {k: round(float(np.median(v)), 1) for k, v in parts.items()}
    emit_record(record, args.out)


if __name__ == "__main__":
    main()
