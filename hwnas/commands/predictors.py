"""`hwnas predictors train | list | graphs`: train and evaluate latency/energy predictors.

Register with ``cli.add_command(predictors_group)``. The work is done by `hwnas.predictors`;
this module parses, calls and prints.
"""

from __future__ import annotations

import json

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _parse_sets(items: tuple[str, ...]) -> dict:
    from hwnas.errors import HwnasUsageError

    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise HwnasUsageError(f"--set takes KEY=VALUE (e.g. --set epochs=100), not {item!r}")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        out[key.strip()] = value
    return out


@click.group("predictors", context_settings=CONTEXT)
def predictors_group() -> None:
    """Latency and energy predictors: train on measured architectures, evaluate, list.

    \b
    Examples:
      hwnas predictors list
      hwnas predictors train --device raspi4 --metric latency --model ridge
      hwnas predictors graphs --workers 2
      hwnas predictors train --device raspi4 --model gcn --train-size 900 --seed 0 --workers 2 --out predictors-out
    """


@predictors_group.command("train")
@click.option("--device", required=True, help="Target device or alias (see `hwnas devices`).")
@click.option("--metric", default="latency", show_default=True, help="latency or energy.")
@click.option("--model", default="gcn", show_default=True, help="Predictor model (see `hwnas predictors list`).")
@click.option("--train-size", default=900, show_default=True, type=int,
              help="Training architectures, drawn at random from those measured on the device.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the split and of the training.")
@click.option("--space", default="nb201", show_default=True, help="Search space.")
@click.option("--dataset", default=None,
              help="Input the networks are built for (default: the one the device was measured with: CIFAR-10 "
                   "for HW-NAS-Bench, CIFAR-100 for the Raspberry Pi 5).")
@click.option("--test-size", default=None, type=int,
              help="Evaluate on this many random held-out archs instead of all of them (quick checks).")
@click.option("--out", "out", default=None, type=click.Path(file_okay=False),
              help="Save the fitted predictor to DIR/<device>-<metric>-<model>/ (config.json + weights.npz) "
                   "and the metrics to metrics.json there.")
@click.option("--workers", default=1, show_default=True, type=int,
              help="Processes that export ONNX graphs not yet cached (gcn only).")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False),
              help="Graph cache folder (default $HWNAS_CACHE_DIR/graphs or ~/.cache/hwnas/graphs).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Model hyper-parameter, repeatable (e.g. --set epochs=100 --set hidden=64).")
def train_cmd(device: str, metric: str, model: str, train_size: int, seed: int, space: str, dataset: str,
              test_size: int | None, out: str | None, workers: int, cache_dir: str | None,
              sets: tuple[str, ...]) -> None:
    """Train a predictor on measured costs and evaluate it on every other measured architecture.

    Prints RMSE, MAPE, accuracy within +-5 % and +-10 % (nn-Meter's metric), Spearman and
    Kendall on the held-out architectures, for the model and for the flops baseline (a linear
    model on FLOPs and params fitted on the same training architectures).

    \b
    Examples:
      hwnas predictors train --device raspi4 --metric latency --model ridge
      hwnas predictors train --device edgegpu --model gcn --train-size 900 --seed 0 --workers 2 --out trained
    """
    from pathlib import Path

    from hwnas.errors import HwnasUsageError
    from hwnas.predictors import train_predictor

    if workers < 1:
        raise HwnasUsageError(f"--workers must be at least 1, not {workers}")
    result = train_predictor(device, metric, model, train_size, seed, space, dataset, test_size=test_size,
                             workers=workers, cache_dir=cache_dir, progress=True, **_parse_sets(sets))
    _print_result(result)
    if out is not None:
        folder = Path(out) / f"{result.device}-{result.metric}-{result.predictor.name}"
        result.predictor.save(folder)
        (folder / "metrics.json").write_text(json.dumps(result.summary(), indent=2) + "\n")
        click.echo(f"saved {folder} (config.json, weights.npz, metrics.json)")


def _print_result(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from hwnas.predictors.metrics import METRIC_COLUMNS, format_metric

    table = Table(title=f"{result.predictor.name} on {result.device} {result.metric} ({result.unit}), "
                        f"{result.space}/{result.dataset}: train {result.train_size:,} archs (seed {result.seed}), "
                        f"test {result.test_size:,} held-out measured archs")
    table.add_column("model")
    for key, label in METRIC_COLUMNS:
        table.add_column(f"{label} ({result.unit})" if key == "rmse" else label, justify="right")
    rows = [(result.predictor.name, result.metrics)]
    if result.baseline is not None and result.predictor.name != "flops":
        rows.append(("flops (baseline)", result.baseline))
    for name, m in rows:
        table.add_row(name, *[format_metric(key, getattr(m, key)) for key, _ in METRIC_COLUMNS])
    console = Console()
    console.print(table)
    console.print(f"measured input: {result.measured_input}; fit {result.fit_s:.1f} s, "
                  f"predict {result.test_size:,} archs {result.predict_s:.2f} s")
    tuned = result.extra.get("tuned_hparams")
    if tuned:
        console.print("options validated for this device (override with --set): "
                      + ", ".join(f"{k}={v}" for k, v in tuned.items()))


@predictors_group.command("list")
@click.option("--dir", "folder", default=None, type=click.Path(file_okay=False),
              help="Also list the predictors saved in this folder.")
def list_cmd(folder: str | None) -> None:
    """List the predictor models, the pre-trained predictors shipped with hwnas (and those saved in --dir)."""
    from rich.console import Console
    from rich.table import Table

    from hwnas.predictors import PREDICTORS, load_predictor, saved_predictors

    table = Table(title="predictor models")
    for column in ("name", "aliases", "input", "description", "hyper-parameters (defaults)"):
        table.add_column(column)
    for name in PREDICTORS.names():
        klass = PREDICTORS.get(name)
        params = ", ".join(f"{k}={v}" for k, v in klass.defaults.items()) or "-"
        table.add_row(name, ", ".join(PREDICTORS.aliases_of(name)), klass.inputs, klass.description, params)
    console = Console()
    console.print(table)
    from hwnas.errors import HwnasUsageError
    from hwnas.predictors.pretrained import available_pretrained, pretrained_info

    shipped = Table(title="pre-trained nb201 predictors shipped with hwnas "
                          "(hwnas.predictors.pretrained.load_pretrained; holdout = 10 % of the measured archs)")
    for column in ("device", "metric", "model", "train archs", "holdout Spearman", "+-10 %"):
        shipped.add_column(column, justify="right" if column not in ("device", "metric", "model") else "left")
    for device, metric in available_pretrained("nb201"):
        try:
            info = pretrained_info(device, metric, "nb201")
        except HwnasUsageError as exc:
            shipped.add_row(device, metric, f"unreadable: {exc}", "-", "-", "-")
            continue
        hold = info.get("holdout", {})
        shipped.add_row(device, metric, str(info.get("model", "-")), f"{info.get('train_size', 0):,}",
                        f"{hold.get('spearman', float('nan')):.4f}", f"{hold.get('acc10_pct', float('nan')):.1f}")
    console.print(shipped if shipped.row_count else "no pre-trained predictors shipped")
    if folder is not None:
        saved = Table(title=f"saved predictors in {folder}")
        for column in ("folder", "model", "device", "metric", "space/dataset", "train size", "seed"):
            saved.add_column(column)
        for path in saved_predictors(folder):
            p = load_predictor(path)
            t = p.trained_on
            saved.add_row(path.name, p.name, str(t.get("device", "-")), str(t.get("metric", "-")),
                          f"{p.space}/{p.dataset}", str(t.get("train_size", "-")), str(p.seed))
        console.print(saved if saved.row_count else f"no saved predictors in {folder}")


@predictors_group.command("graphs")
@click.option("--space", default="nb201", show_default=True, help="Search space.")
@click.option("--dataset", default="cifar10", show_default=True, help="Input the networks are built for.")
@click.option("--workers", default=1, show_default=True, type=int, help="Processes exporting ONNX graphs.")
@click.option("--limit", default=None, type=int, help="Only the first N architectures (by index).")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False),
              help="Graph cache folder (default $HWNAS_CACHE_DIR/graphs or ~/.cache/hwnas/graphs).")
def graphs_cmd(space: str, dataset: str, workers: int, limit: int | None, cache_dir: str | None) -> None:
    """Export every architecture once and cache its ONNX graph for the gcn predictor.

    NB201 models are written node by node, identical to the exporter's files (about 0.06 s per
    architecture, all 15,625 in about 16 minutes on one worker); other spaces go through the
    TorchScript exporter (about 1 s each).

    \b
    Example:
      hwnas predictors graphs --space nb201 --dataset cifar10 --workers 2
    """
    import time

    from hwnas.errors import HwnasUsageError
    from hwnas.predictors.graphs import default_cache_dir, graphs_for_archs
    from hwnas.spaces import get_space

    if workers < 1:
        raise HwnasUsageError(f"--workers must be at least 1, not {workers}")
    sp = get_space(space)
    n = sp.num_archs if limit is None else max(0, min(int(limit), sp.num_archs))
    archs = [sp.parse(str(i)) for i in range(n)]
    start = time.perf_counter()
    graphs = graphs_for_archs(sp.name, archs, dataset, workers=workers, cache_dir=cache_dir, progress=True)
    nodes = sum(g.num_nodes for g in graphs)
    click.echo(f"{len(graphs):,} graphs of {sp.name}/{sp.dataset(dataset).name} ({nodes / max(1, len(graphs)):.0f} "
               f"nodes on average) in {cache_dir or default_cache_dir()}; {time.perf_counter() - start:.1f} s")


@predictors_group.command("predict")
@click.option("--device", required=True, help="Target device or alias (see `hwnas devices`), or your adapted device.")
@click.option("--space", default="nb201", show_default=True, help="Search space.")
@click.option("--archs", default="all", show_default=True,
              help="all, or comma-separated indices, ranges (0-99), arch strings, sample:N.")
@click.option("--metric", default="latency", show_default=True, help="latency (ms) or energy (mJ).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="CSV to write: arch_index, arch, value, unit, source, support, upper (written atomically).")
def predict_cmd(device: str, space: str, archs: str, metric: str, out: str) -> None:
    """Write the device's cost of every requested architecture, and where it comes from.

    source: measured (a table, a registered upstream file or your measurements), predicted (a
    shipped or adapted predictor) or estimated (NB201 energy from FBNet block power); support:
    in_range, or extrapolated where a prediction lies outside what was measured; upper: what a
    budget is checked against (the upper 97.5 % bound where the prediction states one). The console
    line quotes how well the predictor is known where it is used.

    \b
    Examples:
      hwnas predictors predict --device pi5-litert --archs all --metric energy --out preds.csv
      hwnas predictors predict --device jetson-tx2 --archs 0-99,6111 --out tx2.csv
    """
    from hwnas.devices.costs import cost_table, predict_cost
    from hwnas.storage import check_output_path
    from hwnas.storage import atomic_write

    target = check_output_path(out, probe=True)
    frame = predict_cost(space, archs, device, metric)
    text = frame.to_csv(index=False, float_format="%.6g")
    atomic_write(target, lambda fh: fh.write(text.encode()))
    counts = frame["source"].value_counts().to_dict()
    ext = int((frame["support"] == "extrapolated").sum())
    table = cost_table(space, device, metric)
    click.echo(f"wrote {target}: {len(frame):,} archs of {table.device} {table.metric} ({table.unit}; "
               f"{table.measured_input} input): " + ", ".join(f"{n:,} {k}" for k, n in counts.items())
               + (f" ({ext:,} extrapolated)" if ext else ""))
    for source in counts:
        if source in table.provenance:
            click.echo(f"  {source}: {table.provenance[source]}")


@predictors_group.command("adapt")
@click.option("--measurements", required=True, type=click.Path(dir_okay=False),
              help="CSV with columns arch (index, arch string or op ids) and latency_ms or energy_mj.")
@click.option("--name", required=True, help="Name of your device (e.g. my-pi); usable as --device NAME afterwards.")
@click.option("--metric", default=None, help="latency or energy (default: the cost column the CSV has).")
@click.option("--space", default="nb201", show_default=True, help="Search space.")
@click.option("--dataset", default="cifar100", show_default=True,
              help="Input the measured networks were built for (FLOPs/params of that input are features).")
@click.option("--kind", default="CPU", show_default=True,
              help="Device kind: GPU, CPU, phone, accelerator, FPGA, simulator.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1), help="Seed.")
def adapt_cmd(measurements: str, name: str, metric: str | None, space: str, dataset: str, kind: str,
              seed: int) -> None:
    """Learn a new device from 5 to a few hundred measured architectures.

    The few-shot adapter predicts your device from the costs of every fully measured device
    (27 devices x 15,625 NB201 networks), op counts and FLOPs/params, choosing its models by
    leave-one-out on your samples. The device is saved in $HWNAS_HOME/devices/NAME (npz +
    JSON, no pickles) and listed by `hwnas devices` as adapted from N measurements.

    \b
    Examples:
      hwnas profile --space nb201 --dataset cifar100 --archs sample:20 --out m.csv
      hwnas predictors adapt --measurements m.csv --name my-pc
      hwnas pareto --device my-pc --latency 2ms
    """
    from hwnas.devices.registry import canonical_metric
    from hwnas.devices.user import adapt_device, read_measurements
    from hwnas.errors import HwnasUsageError
    from hwnas.spaces import get_space

    sp = get_space(space)
    if sp.name != "nb201":
        raise HwnasUsageError(f"adaptation exists for nb201 only, not {sp.name!r}")
    ds = sp.dataset(dataset).name
    kinds = {k.lower(): k for k in ("GPU", "CPU", "phone", "accelerator", "FPGA", "simulator")}
    if kind.strip().lower() not in kinds:
        raise HwnasUsageError(f"unknown device kind {kind!r}; use one of: {', '.join(kinds.values())}")
    data = read_measurements(measurements, canonical_metric(metric) if metric else None, sp.name)
    record = adapt_device(name, data, kinds[kind.strip().lower()], seed=seed, space=sp.name, dataset=ds)
    loo = record.get("loo", {})
    click.echo(f"adapted {record['device']} {record['metric']} ({record['unit']}) from {record['n_measurements']} "
               f"measurements and {len(record['adapter'].get('sources', []))} fully measured devices")
    if isinstance(loo.get("spearman"), (int, float)):
        click.echo(f"  leave-one-out on your samples: Spearman {loo['spearman']:.3f}, within +-10 % "
                   f"{loo.get('acc10_pct', float('nan')):.1f} %, MAPE {loo.get('mape_pct', float('nan')):.1f} %")
    click.echo(f"  use it: hwnas pareto --device {record['device']} --{record['metric']} BUDGET; "
               f"hwnas predictors predict --device {record['device']} --metric {record['metric']} --out preds.csv")
