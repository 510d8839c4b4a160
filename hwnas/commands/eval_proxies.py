"""`hwnas eval proxies`: rank correlation of zero-cost proxies with NAS-Bench-201 test accuracy.

Register with ``cli.add_command(eval_group)``. The work is done by `hwnas.eval`; this module
parses, validates, calls and prints.
"""

from __future__ import annotations

import math

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group("eval", context_settings=CONTEXT)
def eval_group() -> None:
    """Judge hwnas components against real benchmark data.

    \b
    Example:
      hwnas eval proxies --space nb201 --dataset cifar100 --sample 1000 --seed 0 --proxies az_nas,synflow
    """


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _fmt_ms(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def _evaluate(ev, request, dataset: str, sample: int, seed: int, batch_size: int, store, **kwargs):
    """`hwnas.eval.evaluate_proxies` of the request's proxies, with learned proxies (``hwnas
    proxies fit``) looked up instead of scored (`hwnas.proxies.learned.learned_scores`) and the
    sample cut to the architectures outside every learned proxy's labelled classes (the labelled
    set stays disjoint from the evaluation set). Returns (Evaluation, architectures left out)."""
    import time

    import numpy as np

    from hwnas.proxies.learned import is_learned, labelled_members, learned_scores

    learned = [p for p in request.proxies if is_learned(p)]
    if not learned:
        names = list(request.singles) + [a for a, _ in request.aggregates]
        return ev.evaluate_proxies(names, dataset, sample, seed, batch_size, store, **kwargs), 0
    full = ev.fixed_sample(sample, seed)
    held = set(int(i) for i in labelled_members(learned))
    indices = [i for i in full if i not in held]
    if not indices:
        from hwnas.errors import HwnasUsageError

        raise HwnasUsageError(f"every architecture of the sample lies in a labelled class of {', '.join(learned)}; "
                              "take a larger --sample")
    live = [p for p in request.proxies if p not in learned]
    if live:
        evaluation = ev.evaluate_proxies(live, dataset, indices, seed, batch_size, store, **kwargs)
    else:
        evaluation = ev.Evaluation("nb201", ev.canonical_dataset(dataset), seed, batch_size, kwargs.get("device", "cpu"),
                                   np.asarray(indices, dtype=np.int64), request, {}, {}, {}, {})
    evaluation.request = request
    for name in learned:
        start = time.perf_counter()
        evaluation.columns[name] = learned_scores(name, indices)
        per_arch = (time.perf_counter() - start) * 1000.0 / len(indices)
        evaluation.ms[name] = np.full(len(indices), per_arch)
        evaluation.calls[name] = [f"learned:{name}:{i}" for i in indices]
        evaluation.groups[name] = [name] * len(indices)
    return evaluation, len(full) - len(indices)


@eval_group.command("proxies")
@click.option("--space", default="nb201", show_default=True, help="Search space (ground truth exists for nb201).")
@click.option("--dataset", "datasets", default="cifar100", show_default=True,
              help="cifar10, cifar100 or imagenet16-120; comma-separated for several (one table each).")
@click.option("--sample", default=1000, show_default=True, type=int,
              help="Architectures: numpy.random.default_rng(SEED).choice(15625, SAMPLE, replace=False).")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the sample and of scoring (each architecture gets a seed derived from it).")
@click.option("--proxies", "proxies", default="az_nas", show_default=True,
              help="Comma-separated proxies (see `hwnas proxies`); an item a+b asks for the Eq. 12 rank "
                   "aggregate of those proxies, e.g. az_nas,synflow,az_nas+synflow.")
@click.option("--aggregate", "aggregates", multiple=True, metavar="A+B[+...]",
              help="Another rank aggregate to report (repeatable); its members are scored too.")
@click.option("--batch-size", default=64, show_default=True, type=int, help="Probe batch size.")
@click.option("--cache", "cache", default="runs/cache/scores.sqlite", show_default=True,
              type=click.Path(dir_okay=False), help="SQLite score cache: reruns and interrupted runs resume from it.")
@click.option("--device", default="cpu", show_default=True, type=click.Choice(["cpu", "cuda"], case_sensitive=False),
              help="Where to score (cuda: a usage error when CUDA is not available).")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
              help="Also write the results: .csv (tables) or .json (tables, per-architecture scores and times).")
@click.option("--separate", is_flag=True,
              help="Time every proxy in its own call (default: shared-pass proxies are computed and timed "
                   "together as one group).")
@click.option("--recompute", default="", metavar="PROXIES",
              help="Comma-separated proxies whose cached scores are ignored and overwritten.")
@click.option("--inputs", "inputs", default=None, type=click.Path(dir_okay=False),
              help="Probe images and labels instead of Gaussian batches: an .npz with arrays x (N x C x H x W) "
                   "and y (N labels); proxies read consecutive slices of --batch-size rows (xi_gsnr needs 8).")
@click.option("--top-fraction", default=0.05, show_default=True, type=float,
              help="The constrained setting: correlations over this best fraction of the sample.")
@click.option("--ndcg-k", "ndcg_k", default=10, show_default=True, type=click.IntRange(1, 15625),
              help="Cutoff of nDCG@k: the k architectures a proxy ranks first (gain = test accuracy in %).")
@click.option("--threads", default=None, type=int, help="torch.set_num_threads (default: torch's choice).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
def proxies_cmd(space: str, datasets: str, sample: int, seed: int, proxies: str, aggregates: tuple[str, ...],
                batch_size: int, cache: str, device: str, out: str | None, separate: bool, recompute: str,
                inputs: str | None, top_fraction: float, ndcg_k: int, threads: int | None, progress: bool) -> None:
    """Kendall tau and Spearman rho of zero-cost proxies against test accuracy.

    Scores a fixed random sample of NAS-Bench-201 architectures (Kaiming-normal init,
    Gaussian probe batch or --inputs, seed per architecture), then prints per proxy the rank
    correlations with the 200-epoch test accuracy over the sample and over its top 5 %
    (the survey's constrained setting), nDCG@k (VKDNW's top-of-ranking metric: how good the
    k networks ranked first are, gain = test accuracy, 1 = the k best in order), the median ms
    per architecture, and n.
    Non-finite scores rank last. `az_nas` is the Eq. 12 rank aggregate of its four
    components (listed below it). Scores are cached in --cache.

    \b
    Examples:
      hwnas eval proxies --dataset cifar100 --sample 1000 --proxies az_nas,synflow,params,flops
      hwnas eval proxies --dataset cifar10,cifar100,imagenet16-120 --proxies az_nas,synflow,az_nas+synflow
    """
    from rich.console import Console
    from rich.table import Table

    from hwnas import eval as ev
    from hwnas.errors import HwnasUsageError

    device = device.lower()
    ev._check_device(device)  # fail before any work
    if threads is not None:
        if threads < 1:
            raise HwnasUsageError(f"--threads must be at least 1, got {threads}")
        import torch

        torch.set_num_threads(threads)
    if not 0.0 < top_fraction <= 1.0:
        raise HwnasUsageError(f"--top-fraction must be in (0, 1], got {top_fraction}")
    request = ev.parse_request(proxies, aggregates)  # unknown names fail here, with close matches
    names = [d.strip() for d in datasets.split(",") if d.strip()]
    if not names:
        raise HwnasUsageError("--dataset is empty")
    dataset_names = list(dict.fromkeys(ev.canonical_dataset(d, space) for d in names))
    for d in dataset_names:
        ev.load_ground_truth(d)  # a missing data directory fails before any scoring
    recompute_list = [r for r in recompute.split(",") if r.strip()]
    if out is not None and not out.lower().endswith((".csv", ".json")):
        raise HwnasUsageError(f"--out must end in .csv or .json, got {out!r}")

    console = Console()
    results = []
    with ev.ScoreCache(cache) as store:
        for d in dataset_names:
            evaluation, held_out = _evaluate(
                ev, request, d, sample, seed, batch_size, store,
                progress=progress, space=space, device=device, separate=separate, recompute=recompute_list,
                inputs=inputs,
            )
            rows = ev.proxy_metrics(evaluation, fraction=top_fraction, ndcg_k=ndcg_k)
            results.append((evaluation, rows))
            pct = f"{100 * top_fraction:g}%"
            table = Table(title=f"{d}: {len(evaluation.indices)} NAS-Bench-201 archs (sample seed {seed}), "
                                f"batch {batch_size}, {device}; vs test accuracy"
                                + (f" ({held_out} in learned proxies' labelled classes left out)" if held_out else ""))
            table.add_column("proxy", no_wrap=True)
            k_shown = rows[0].ndcg_k if rows else ndcg_k
            for col in ("Kendall tau", "Spearman rho", f"top-{pct} tau", f"top-{pct} rho", f"nDCG@{k_shown}",
                        "median ms/arch", "n", "-inf/NaN"):
                table.add_column(col, justify="right")
            for m in rows:
                label = f"  {m.name}" if m.kind == "component" else m.name
                table.add_row(label, _fmt(m.kendall), _fmt(m.spearman), _fmt(m.top_kendall), _fmt(m.top_spearman),
                              _fmt(m.ndcg), _fmt_ms(m.median_ms), str(m.n), str(m.non_finite))
            console.print(table)
            groups = sorted({g for m in rows for g in m.timed_groups})
            shared = [g for g in groups if "+" in g]
            console.print(
                f"top {pct} = best {rows[0].n_top if rows else 0} of the sample by test accuracy; nDCG@{k_shown} = "
                "gain (test accuracy) of the proxy's first k, discounted by log2(rank + 1), over that of the best k; ms/arch = one timed call "
                "(build + init + the proxies computed together), summed over calls for aggregates"
                + (f"; computed together: {', '.join(g.replace('+', ' ') for g in shared)}" if shared else "")
                + f"; this run computed {evaluation.computed} calls, reused {evaluation.reused} cached scores.",
                style="dim",
            )
    if out is not None:
        config = {"space": space, "datasets": dataset_names, "sample": sample, "seed": seed, "proxies": proxies,
                  "aggregates": list(aggregates), "batch_size": batch_size, "device": device, "separate": separate,
                  "top_fraction": top_fraction, "ndcg_k": ndcg_k, "cache": cache, "hwnas_version": ev.version_tag()}
        path = ev.write_results(out, results, config)
        console.print(f"wrote {path}")
