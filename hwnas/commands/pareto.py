"""``hwnas pareto``: the main job -- best networks for a device and a budget, without training."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click


@click.command("pareto")
@click.option("--device", default=None,
              help="Target device or alias (see `hwnas devices`), e.g. jetson-tx2. Optional with a --flops / "
                   "--params budget: the front then trades the score against FLOPs / params only.")
@click.option("--energy", "energy", multiple=True, metavar="BUDGET",
              help="Energy budget per inference, e.g. 20mJ, 0.02J (units are case-sensitive: mJ, J, uJ).")
@click.option("--latency", "latency", multiple=True, metavar="BUDGET",
              help="Latency budget, e.g. 5ms, 5000us (units: ms, s, us; quote it with a space: \"5 ms\").")
@click.option("--flops", "flops", multiple=True, metavar="BUDGET",
              help="FLOPs budget (multiply-accumulates per sample), e.g. 600M, 1.2G.")
@click.option("--params", "params", multiple=True, metavar="BUDGET", help="Parameter budget, e.g. 3.5M.")
@click.option("--space", default="nb201", show_default=True,
              help="Search space: nb201 (NAS-Bench-201), fbnet (HW-NAS-Bench's FBNet), mbv2 (MobileNetV2, TF-NAS).")
@click.option("--dataset", default=None,
              help="Dataset the networks are built for [default: cifar100; imagenet for mbv2].")
@click.option("--proxy", default=None,
              help="Zero-cost proxy; several, comma-separated, are rank-aggregated (AZ-NAS Eq. 12) "
                   "[default: jacob_cov,meco,swap on nb201, az_nas on fbnet and mbv2].")
@click.option("--evaluations", default=1000, show_default=True, type=int,
              help="Distinct architectures (isomorphism classes) to evaluate.")
@click.option("--seed", default=0, show_default=True, type=int, help="Search seed (same seed, same front).")
@click.option("--out", default=None, metavar="DIR", help="Output folder [default: runs/pareto-DEVICE].")
@click.option("--export-onnx", "export_onnx", default=0, show_default=True, type=int, metavar="K",
              help="Export the K best feasible networks of the front as verified ONNX files.")
@click.option("--algorithm", default="auto", show_default=True,
              help="auto: exhaustive (every isomorphism class, scores looked up: seconds) when the package's "
                   "precomputed scores hold the dataset and proxy setting, else nsga2; or nsga2, nsga3, agemoea, "
                   "smsemoa, random, exhaustive.")
@click.option("--pop-size", default=50, show_default=True, type=int, help="Population size.")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its archive (refused if it had other settings).")
@click.option("--overwrite", is_flag=True, help="Replace the run already in --out (else refused).")
@click.option("--workers", default=1, show_default=True, type=int,
              help="Processes scoring architectures that are neither archived nor precomputed.")
@click.option("--ray", "ray", default=None, metavar="ADDRESS",
              help="Score them as Ray tasks instead: local (a Ray instance on this machine; local:N with N CPUs), "
                   "or a cluster's HOST:PORT / ray://HOST:PORT / auto. Needs pip install 'hwnas[ray]'; "
                   "see docs/distributed.md.")
@click.option("--ray-timeout", "ray_timeout", default=600.0, show_default=True, type=float, metavar="SECONDS",
              help="With --ray: an architecture still running after this long is cancelled and retried once, "
                   "then recorded as failed.")
@click.option("--batch-size", default=None, type=int,
              help="Probe batch size of the proxy [default: the batch size of the package's precomputed "
                   "scores for the dataset (64 on all three NB201 datasets; CIFAR-10 also ships at 16), "
                   "else 64].")
@click.option("--proxy-seed", default=0, show_default=True, type=int, help="Seed of the proxy's weights and inputs.")
@click.option("--no-shipped-scores", is_flag=True,
              help="Score every architecture live instead of reading the package's precomputed table.")
@click.option("--keep-degenerate", is_flag=True,
              help="Allow cells whose output ignores the input (no path from input to output) on the front.")
@click.option("--reference-sample", "reference_sample", default=100, show_default=True, type=int, metavar="N",
              help="A score of several proxies with no precomputed table for its setting is ranked against a "
                   "fixed sample of N architectures scored once (archived): the same network gets the same score "
                   "in every run. 0: rank among the run's own evaluations.")
@click.option("--archive", default=None, metavar="FILE", help="Evaluation archive [default: OUT/archive.sqlite].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def pareto_cmd(device: str | None, energy: tuple[str, ...], latency: tuple[str, ...], flops: tuple[str, ...],
               params: tuple[str, ...], space: str, dataset: str | None,
               proxy: str | None, evaluations: int, seed: int, out: str | None, export_onnx: int, algorithm: str,
               pop_size: int, resume: bool, overwrite: bool, workers: int, ray: str | None, ray_timeout: float,
               batch_size: int | None, proxy_seed: int,
               no_shipped_scores: bool, keep_degenerate: bool, reference_sample: int, archive: str | None,
               quiet: bool) -> None:
    """Search the space for the networks with the best proxy score per unit of hardware cost.

    Objectives: maximise the zero-cost proxy score, minimise each budgeted cost (every cost
    the device has when no budget is given). Costs are measured where a measurement exists,
    else predicted by a shipped model, else estimated -- each marked as such in the output.

    \b
    Writes to --out: pareto.csv, pareto.json, all_evaluated.csv, pareto.png, run.json,
    archive.sqlite (evaluations, for reruns and --resume) and onnx/ with --export-onnx.
    A folder that already holds a run needs --resume (same settings) or --overwrite.

    \b
    Examples:
      hwnas pareto --device jetson-tx2 --energy 20mJ
      hwnas pareto --device raspi4 --latency 8ms --dataset cifar10 --export-onnx 3
      hwnas pareto --space fbnet --device jetson-tx2 --energy 100mJ --evaluations 2000
      hwnas pareto --space nb201 --flops 100M
    """
    from rich.console import Console

    from hwnas.api import _pareto
    from hwnas.devices.registry import get_device
    from hwnas.errors import HwnasUsageError

    if out is not None and not out.strip():
        raise HwnasUsageError("--out is empty; give a folder, or leave --out out for runs/pareto-DEVICE")
    dev = get_device(device) if device is not None else None
    out_dir = Path(out) if out is not None else Path("runs") / (f"pareto-{dev.name}" if dev is not None
                                                                else f"pareto-{space.strip().lower()}")
    console = Console(stderr=True)
    result = _pareto(dict(device=dev.name if dev is not None else None, energy=energy, latency=latency,
                          energy_mj=None, latency_ms=None, flops=flops, params=params,
                          space=space, dataset=dataset, proxy=proxy, evaluations=evaluations, seed=seed,
                          out=out_dir, export_onnx=export_onnx, algorithm=algorithm, pop_size=pop_size,
                          resume=resume, overwrite=overwrite, workers=workers, ray=ray, ray_timeout=ray_timeout,
                          batch_size=batch_size,
                          proxy_seed=proxy_seed, shipped_scores=not no_shipped_scores,
                          keep_degenerate=keep_degenerate, reference_sample=reference_sample, archive=archive,
                          objectives=(), progress=not quiet,
                          command=shlex.join(["hwnas", *sys.argv[1:]]), console=console), style="cli")
    print_front(result)


SOURCE_LETTER = {"measured": "m", "predicted": "p", "estimated": "e", "counted": "c"}
COST_UNITS = ("_ms", "_mJ", "_FLOPs", "_params")


def source_mark(label: str) -> str:
    """``m`` / ``p`` / ``e`` for measured / predicted / estimated, ``x`` appended when extrapolated."""
    kind = label.split(",")[0].strip()
    return SOURCE_LETTER.get(kind, "?") + ("x" if "extrapolated" in label else "")


def _fmt_cost(value: float, column: str) -> str:
    """A cost for the console: ms / mJ with 3 decimals, FLOPs and params in millions."""
    if column.endswith(("_FLOPs", "_params")):
        return f"{value / 1e6:.1f}M"
    return f"{value:.3f}"


def print_front(result, limit: int = 15) -> None:
    """The front as a compact table, then where the artefacts are."""
    import pandas as pd
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    run, front = result.run, result.front
    budgets = ", ".join(f"{b['metric']} <= {b['limit']:g} {b['unit']}" for b in run["budgets"]) or "none"
    table = Table(title=escape(f"Pareto front: {run['space']} / {run['dataset']} on {run['device'] or 'no device'} "
                        f"(budget: {budgets}; proxy: {'+'.join(run['proxy'])})"))
    table.add_column("#", justify="right")
    table.add_column("arch", justify="right")
    table.add_column("score", justify="right")
    metrics = [k for k in front.columns if k.endswith(COST_UNITS) and not k.startswith("score")]
    reference = set(run.get("reference_costs") or {})
    shown = front.head(limit)
    # a budgeted cost whose bound (what the budget is checked against) exceeds its value somewhere
    bounded = {m for m in metrics if f"{m}_bound" in front.columns
               and any(b["metric"] == m.rsplit("_", 1)[0] for b in run["budgets"])
               and (shown[f"{m}_bound"] > shown[m] * 1.005).any()}
    for m in metrics:
        name, unit = m.rsplit("_", 1)
        table.add_column(f"{name} ({unit})" + ("*" if name in reference else ""), justify="right")
        if m in bounded:
            table.add_column(f"{name} bound\u2020", justify="right")
    table.add_column("cell")
    marks: set[str] = set()
    for _, row in shown.iterrows():
        index = row["arch_index"]
        cells = [str(row["rank"]), "-" if pd.isna(index) else str(int(index)), f"{row['score']:.4g}"]
        for m in metrics:
            mark = source_mark(str(row[m.rsplit("_", 1)[0] + "_source"]))
            marks.update(mark)
            cells.append(f"{_fmt_cost(row[m], m)} {mark}")
            if m in bounded:
                cells.append(_fmt_cost(row[f"{m}_bound"], m))
        cells.append(escape(str(row["arch"])))
        table.add_row(*cells)
    console = Console()
    console.print(table)
    legend = [f"{letter} {kind}" for kind, letter in SOURCE_LETTER.items() if letter in marks]
    if "x" in marks:
        legend.append("x extrapolated (outside the measured range or op-count envelope)")
    if legend:
        console.print("cost sources: " + ", ".join(legend), soft_wrap=True, markup=False)
    for m in sorted(bounded):
        console.print(f"\u2020 {m.rsplit('_', 1)[0]} bound: what the budget is checked against, the value at the "
                      f"upper 97.5 % bound of each prediction it rests on (the value itself where nothing was "
                      f"predicted)", soft_wrap=True, markup=False)
    for name in sorted(reference):
        console.print(f"* {name}: shown because the energy rests on it (energy estimates are derived from it); "
                      f"not an objective", soft_wrap=True, markup=False)
    if len(front) > limit:
        console.print(f"... {len(front) - limit} more in {result.paths['pareto_csv']}")
    s = run["scoring"]
    looked_up = ("from the shipped score table and learned proxies" if (run.get("settings") or {}).get("learned_fits")
                 else "from the shipped score table")
    console.print(f"{run['evaluated']} architectures evaluated ({s['computed']} scored now, "
                  f"{s['from_shipped_table']} {looked_up}, {s['from_archive']} from the archive), "
                  f"{run['feasible_evaluated']} within budget, front of {run['front_size']}; "
                  f"{run['timings']['total_s']:.1f} s")
    notes = []
    quality = run.get("score_quality")
    if quality:
        notes.append(f"score: {quality['note']}")
    for metric, info in [*run["cost_sources"].items(), *(run.get("reference_costs") or {}).items()]:
        kinds = ", ".join(f"{n:,} {k}" for k, n in info["counts"].items() if n)
        notes.append(f"{metric}: {kinds} (of the whole space)")
        for k, label in info["provenance"].items():
            if k != "measured":
                notes.append(f"  {label}" if label.startswith(k) else f"  {k}: {label}")
    for n in notes:
        console.print(n, soft_wrap=True, markup=False)
    if run.get("accuracy_note"):
        console.print(f"note: {run['accuracy_note']}", soft_wrap=True, markup=False)
    if run.get("algorithm_note"):
        console.print(f"note: {run['algorithm_note']}", soft_wrap=True, markup=False)
    if run.get("evaluations_note"):
        console.print(f"note: {run['evaluations_note']}", soft_wrap=True, markup=False)
    excluded = run.get("excluded_evaluated") or {}
    if excluded:
        console.print("kept off the front: " + ", ".join(f"{why}: {n}" for why, n in excluded.items())
                      + "; see the 'excluded' column of all_evaluated.csv", soft_wrap=True, markup=False)
    check = run.get("local_check")
    if check:
        rho = f"Spearman {check['spearman']:.3f}, " if check.get("spearman") is not None else ""
        console.print(f"local: front timed live on this machine ({check['n']} networks): predicted vs measured "
                      f"{rho}{check['within10_pct']:.0f} % within +-10 %; per network in front_measured.csv",
                      soft_wrap=True, markup=False)
    out = Path(result.paths["pareto_csv"]).parent
    archive = Path(result.paths["archive"])
    names = sorted(Path(p).name for k, p in result.paths.items()
                   if not k.startswith("onnx_") and (k != "archive" or archive.parent == out))
    console.print(f"wrote {out}/: " + ", ".join(names)
                  + (f" and {len(run['onnx_exports'])} ONNX files in onnx/" if run.get("onnx_exports") else "")
                  + ("" if archive.parent == out else f"; archive: {archive}"), soft_wrap=True, markup=False)
