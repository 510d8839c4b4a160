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
@click.option("--threads", default=None, type=int, help="torch.set_num_threads (default: torch's choice).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
def proxies_cmd(space: str, datasets: str, sample: int, seed: int, proxies: str, aggregates: tuple[str, ...],
                batch_size: int, cache: str, device: str, out: str | None, separate: bool, recompute: str,
                inputs: str | None, top_fraction: float, threads: int | None, progress: bool) -> None:
    """Kendall tau and Spearman rho of zero-cost proxies against test accuracy.

    Scores a fixed random sample of NAS-Bench-201 architectures (Kaiming-normal init,
    Gaussian probe batch or --inputs, seed per architecture), then prints per proxy the rank
    correlations with the 200-epoch test accuracy over the sample and over its top 5 %
    (the survey's constrained setting), the median ms per architecture, and n.
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
            evaluation = ev.evaluate_proxies(
                list(request.singles) + [a for a, _ in request.aggregates], d, sample, seed, batch_size, store,
                progress=progress, space=space, device=device, separate=separate, recompute=recompute_list,
                inputs=inputs,
            )
            rows = ev.proxy_metrics(evaluation, fraction=top_fraction)
            results.append((evaluation, rows))
            pct = f"{100 * top_fraction:g}%"
            table = Table(title=f"{d}: {len(evaluation.indices)} NAS-Bench-201 archs (sample seed {seed}), "
                                f"batch {batch_size}, {device}; vs test accuracy")
            table.add_column("proxy", no_wrap=True)
            for col in ("Kendall tau", "Spearman rho", f"top-{pct} tau", f"top-{pct} rho", "median ms/arch", "n",
                        "-inf/NaN"):
                table.add_column(col, justify="right")
            for m in rows:
                label = f"  {m.name}" if m.kind == "component" else m.name
                table.add_row(label, _fmt(m.kendall), _fmt(m.spearman), _fmt(m.top_kendall), _fmt(m.top_spearman),
                              _fmt_ms(m.median_ms), str(m.n), str(m.non_finite))
            console.print(table)
            groups = sorted({g for m in rows for g in m.timed_groups})
            shared = [g for g in groups if "+" in g]
            console.print(
                f"top {pct} = best {rows[0].n_top if rows else 0} of the sample by test accuracy; ms/arch = one timed call "
                "(build + init + the proxies computed together), summed over calls for aggregates"
                + (f"; computed together: {', '.join(g.replace('+', ' ') for g in shared)}" if shared else "")
                + f"; this run computed {evaluation.computed} calls, reused {evaluation.reused} cached scores.",
                style="dim",
            )
    if out is not None:
        config = {"space": space, "datasets": dataset_names, "sample": sample, "seed": seed, "proxies": proxies,
                  "aggregates": list(aggregates), "batch_size": batch_size, "device": device, "separate": separate,
                  "top_fraction": top_fraction, "cache": cache, "hwnas_version": ev.version_tag()}
        path = ev.write_results(out, results, config)
        console.print(f"wrote {path}")
