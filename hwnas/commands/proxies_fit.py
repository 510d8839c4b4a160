"""`hwnas proxies fit`: a learned proxy from a user's labelled NAS-Bench-201 networks.

Registered under the ``hwnas proxies`` group by `hwnas.cli`. The work is done by
`hwnas.proxies.learned`; this module parses, validates, calls and prints.
"""

from __future__ import annotations

import click

from hwnas.proxies.learned_models import FOREST_KINDS


@click.command("fit")
@click.option("--space", default="nb201", show_default=True, help="Search space (learned proxies exist for nb201).")
@click.option("--dataset", default="cifar100", show_default=True,
              help="Dataset the labels' accuracies were measured on (cifar10, cifar100, imagenet16-120).")
@click.option("--labels", "labels", required=True, multiple=True, type=click.Path(dir_okay=False),
              help="CSV with columns arch (NB201 index, arch string or 6 op ids) and accuracy (test accuracy, %); "
                   "repeat it to fit on several files as one set (e.g. one per hwnas proxies suggest round).")
@click.option("--model", "model", default="forest", show_default=True,
              type=click.Choice(["forest", "parzc"], case_sensitive=False),
              help="forest: scikit-learn tree ensemble on the zero-cost feature vector; parzc: a small ParZC "
                   "network (Mixer with Bayesian layers, DiffKendall loss) on the same features.")
@click.option("--forest", "forest_kind", default="extra_trees", show_default=True,
              type=click.Choice(list(FOREST_KINDS)), help="Which tree ensemble --model forest fits.")
@click.option("--name", "name", required=True, help="Name of the new proxy (then usable as --proxy NAME).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Seed of the model (same seed, same labels: same proxy).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
def fit_cmd(space: str, dataset: str, labels: tuple[str, ...], model: str, forest_kind: str, name: str, seed: int,
            progress: bool) -> None:
    """Fit a learned proxy on your labelled networks and save it as --name.

    Features: the AZ-NAS scores of the shipped class table on all three datasets, log params
    and FLOPs, and an encoding of the cell (op per edge, op counts, input-output paths). The
    model is trained on the labelled isomorphism classes only and saved, as JSON + npz (no
    pickles), under $HWNAS_HOME/proxies/NAME/. It then works as a proxy:
    `hwnas eval proxies --proxies NAME` (which leaves the labelled classes out of its sample)
    and `hwnas pareto --proxy NAME`.

    \b
    Example:
      hwnas proxies fit --dataset cifar100 --labels labels.csv --model forest --name my-proxy
      hwnas pareto --device raspi4 --latency 8ms --proxy my-proxy
    """
    from hwnas.proxies.learned import check_name, fit_learned_proxy, proxies_root, read_labels
    from hwnas.spaces import get_space

    name = check_name(name)
    sp = get_space(space)
    ds = sp.dataset(dataset).name
    data = read_labels(labels, sp.name)
    fitted = fit_learned_proxy(name, data, ds, model.lower(), seed, sp.name,
                               forest_kind if model.lower() == "forest" else None, progress)
    rec = fitted.record
    kind = rec["estimator"].get("kind", "parzc")
    click.echo(f"fitted learned proxy {name!r}: {kind} on {rec['n_labels']} labelled networks "
               f"({rec['n_classes']} isomorphism classes), {ds}, seed {seed}")
    click.echo(f"  Kendall tau on labelled networks it was not fitted on ({rec['cv_folds']}-fold cross-validation): "
               f"{rec['cv_kendall_tau']:.3f} (in-sample: {rec['train_kendall_tau']:.3f})")
    click.echo(f"  saved {proxies_root() / name}; use it with --proxies {name} (hwnas eval proxies) or "
               f"--proxy {name} (hwnas pareto)")
