"""`hwnas proxies suggest`: which NAS-Bench-201 networks to train for a learned proxy.

Registered under the ``hwnas proxies`` group by `hwnas.cli`. The work is done by
`hwnas.proxies.label_selection`; this module parses, validates, calls and writes.
"""

from __future__ import annotations

import click

from hwnas.proxies.label_selection import DEFAULT_STRATA


@click.command("suggest")
@click.option("--space", default="nb201", show_default=True, help="Search space (suggestions exist for nb201).")
@click.option("--dataset", default="cifar100", show_default=True,
              help="Dataset you will train on (cifar10, cifar100, imagenet16-120).")
@click.option("--count", required=True, type=int, help="How many networks to suggest (one per isomorphism class).")
@click.option("--proxy", default=None,
              help="Score that ranks the candidates: a learned proxy fitted on your first labels (second "
                   "round; its labelled classes are left out), or look-up proxies of the shipped table. "
                   "Default: hwnas pareto's default training-free score.")
@click.option("--labels", "labels", multiple=True, type=click.Path(dir_okay=False),
              help="CSV with an arch column: networks already labelled or being trained, left out (repeatable).")
@click.option("--strata", default=DEFAULT_STRATA, show_default=True, type=click.IntRange(1, 1000),
              help="FLOPs strata of equal size; each gives an equal share of its best-scored networks.")
@click.option("--device", default=None,
              help="With --latency / --energy: only networks that fit the budget on this device (see hwnas devices).")
@click.option("--latency", default=None, metavar="BUDGET", help="Latency budget on --device, e.g. 8ms.")
@click.option("--energy", default=None, metavar="BUDGET", help="Energy budget on --device, e.g. 20mJ.")
@click.option("--flops", default=None, metavar="BUDGET", help="FLOPs budget, e.g. 100M (no device needed).")
@click.option("--params", default=None, metavar="BUDGET", help="Parameter budget, e.g. 0.8M (no device needed).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="CSV to write (atomically): arch, accuracy (empty: fill it in), arch_str, stratum, macs, score.")
def suggest_cmd(space: str, dataset: str, count: int, proxy: str | None, labels: tuple[str, ...], strata: int,
                device: str | None, latency: str | None, energy: str | None, flops: str | None, params: str | None,
                out: str) -> None:
    """Suggest which networks to train so a learned proxy finds the best one at every budget.

    The candidates (one per isomorphism class, cell output reachable from its input) are cut
    into --strata strata of equal size by FLOPs, and each stratum gives an equal share of its
    best-scored networks. Train them, fill in the accuracy column, and the file is a --labels
    file for `hwnas proxies fit`. Two rounds work best: half of the networks you will train
    ranked by the default score, fit, then the other half ranked by the fitted proxy (625 in
    all meet the regret targets on all three datasets: docs/benchmarks.md).

    \b
    With a budget (--device and --latency / --energy, or --flops / --params) only networks
    that fit it, as hwnas pareto checks it, are suggested: for one target, about a hundred
    networks to train instead of several hundred.

    \b
    Example:
      hwnas proxies suggest --dataset cifar100 --count 313 --out round1.csv
      # train them, fill in round1.csv's accuracy column
      hwnas proxies fit --dataset cifar100 --labels round1.csv --name mine
      hwnas proxies suggest --dataset cifar100 --count 312 --proxy mine --out round2.csv
      # train them, fill in round2.csv's accuracy column
      hwnas proxies fit --dataset cifar100 --labels round1.csv --labels round2.csv --name mine
      hwnas pareto --device raspi4 --latency 8ms --dataset cifar100 --proxy mine
    """
    from hwnas.devices.registry import get_device
    from hwnas.errors import HwnasUsageError
    from hwnas.proxies.label_selection import labelled_indices, suggest_labels
    from hwnas.search.budget import parse_budget
    from hwnas.storage import atomic_write, check_output_path

    path = check_output_path(out, probe=True)
    budgets = [parse_budget(text, metric) for metric, text in
               (("latency", latency), ("energy", energy), ("flops", flops), ("params", params)) if text is not None]
    dev = get_device(device).name if device is not None else None
    if dev is not None and not any(b.metric in ("latency", "energy") for b in budgets):
        raise HwnasUsageError(f"--device {device}: give a --latency or --energy budget to check on it")
    done = labelled_indices(labels, space)
    s = suggest_labels(dataset, count, proxy, done, strata, space, dev, budgets)
    text = s.csv_text().encode()
    atomic_write(path, lambda fh: fh.write(text))
    left = f", {s.excluded} labelled classes left out" if s.excluded else ""
    if budgets:
        left += ", within " + " and ".join(b.text for b in budgets) + (f" on {dev}" if dev else "")
    click.echo(f"wrote {s.arch.size} networks to train on {s.dataset} to {path} "
               f"(ranked by {s.proxy}, {s.strata} FLOPs strata{left})")
    click.echo(f"  fill in the accuracy column (test accuracy, %), then: hwnas proxies fit --dataset {s.dataset} "
               f"--labels {path} --name NAME")
