"""Build the pre-trained latency predictors shipped in ``hwnas/_data/predictors`` (read by
`hwnas.predictors.pretrained`).

For every device and metric with at least ``--min-measured`` (300) measured architectures of the
space in the *shipped* measured tables (a registered HW-NAS-Bench pickle is ignored: the script
points ``$HWNAS_HOME`` at an empty folder), it

1. draws a random 90 % of the measured architectures with ``numpy.random.default_rng(0).choice``
   (`hwnas.predictors.train.split_indices`) and keeps the other 10 % as the holdout;
2. fits the ``mlp`` predictor (one-hot genotype, log-cost target; hidden 128, 2 layers, 200 epochs
   below 5,000 training archs, 50 above) and, as the alternatives, ``ridge`` on the raw cost and on
   log-cost and (up to ``--gp-max-train`` training archs) the ``gp``, all on the same split with
   ``torch.set_num_threads(1)``;
3. keeps the mlp unless another candidate is clearly better on the holdout (see `choose`), and never a model that
   predicts a non-positive or non-finite cost for any architecture of the space;
   Devices measured only on the biased 1,999-architecture NB201 subset (Jetson TX2, Edge TPU, the
   Eagle and nn-Meter devices: at most ``SUBSET_MAX`` measured archs) get ``transfer`` instead
   (sources: every fully measured device) when it wins the subset-shift protocol of
   ``bench/subset_shift.py`` on the fully measured devices (``--subset-shift``, the JSON it wrote:
   higher mean Spearman and +-10 % accuracy than each shipped recipe evaluated there), with the
   view of its best fixed-view variant there (``transfer-log``: ``full``; ``transfer-raw``:
   ``raw:full``); their
   candidates are transfer, mlp and the two ridges (the gp is not refit: the holdout is drawn from
   the subset and says nothing about the rest of the space). The JSON's ``subset_shift`` field
   quotes transfer's accuracy under that protocol (mean over the fully measured devices) and its
   ``budget_bound_q975`` / ``budget_bound_views_q975``: the 97.5th percentile of log(measured /
   predicted) and of log(measured / largest view) pooled over those devices, which
   `hwnas.devices.costs` uses for the upper bound budgets are checked against. A device whose
   measurements correlate with every source less than each protocol device's best source does
   (Jetson TX2: 0.68 against 0.80-1.00) gets the no-twin protocol's figures instead
   (``bench/results/subset_shift_notwin.json``, `no_twin_record`);
4. saves it with `Predictor.save` (npz + JSON, no pickles) and renames the two files to
   ``<space>_<device>_<metric>.npz`` / ``.json``; the JSON gets the record of the build (device,
   metric, unit, train size, holdout metrics of every candidate, the measured source, the split's
   fingerprint, versions and this command).

    python scripts/build_pretrained.py                       # everything (about 15 min on 1 core)
    python scripts/build_pretrained.py --devices jetson-tx2,edgetpu --out /tmp/pretrained

Prints the markdown table of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

# Only the shipped tables: a registered pickle would change what is "measured" (and the split).
os.environ["HWNAS_HOME"] = tempfile.mkdtemp(prefix="hwnas-build-pretrained-")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from subset_shift import TRANSFER_VIEWS, source_similarity  # noqa: E402  (bench name -> transfer view)

DEFAULT_OUT = ROOT / "hwnas" / "_data" / "predictors"
HOLDOUT_FRACTION = 0.10
SPLIT_SEED = 0
SUBSET_MAX = 1999  # measured on at most the 1,999-arch OneProxy/nn-Meter subset
SUBSET_PROTOCOL = ("trained on the 1,999-arch subset of fully measured devices, tested on the other 13,626 "
                   "(mean over devices)")


def subset_shift_verdict(path: "str | os.PathLike[str] | None") -> "tuple[bool, str, dict | None]":
    """(transfer wins, why, transfer's subset-shift record) from bench/subset_shift.py's JSON. Of
    the fixed-view transfer variants run there (`TRANSFER_VIEWS` but ``auto``: the view that
    leave-one-out picks on a device's subset says nothing about how it extrapolates, and the
    figure quoted must be that of the model shipped), the one with the highest mean Spearman is
    the candidate; the record's ``view`` is the transfer predictor's view to ship."""
    if not path or not Path(path).is_file():
        return False, f"no subset-shift results at {path}", None
    results = json.loads(Path(path).read_text())
    summary = results["summary"]
    variants = {m: summary[m] for m, view in TRANSFER_VIEWS.items() if m in summary and view != "auto"}
    if not variants:
        return False, "transfer not in the subset-shift results", None
    variant = max(variants, key=lambda m: (variants[m]["spearman"], variants[m]["acc10_pct"]))
    t = variants[variant]
    others = {m: r for m, r in summary.items() if m not in TRANSFER_VIEWS and r.get("devices") == t.get("devices")}
    missing = [m for m in ("mlp", "ridge", "ridge-log", "gp") if m not in others]
    if missing:  # every recipe the build would otherwise ship must have been compared on the same devices
        return False, (f"the subset-shift results lack {', '.join(missing)} on all {t.get('devices')} devices "
                       "transfer was run on"), None
    lost = [m for m, r in others.items() if not (t["spearman"] > r["spearman"] and t["acc10_pct"] > r["acc10_pct"])]
    record = {"model": "transfer", "view": TRANSFER_VIEWS[variant], "bench_model": variant, "spearman": t["spearman"], "acc10_pct": t["acc10_pct"], "cheap30_spearman": t["cheap30_spearman"],
              "cheap30_acc10_pct": t["cheap30_acc10_pct"], "devices": t.get("devices"), "protocol": SUBSET_PROTOCOL,
              "budget_bound_q975": t.get("budget_bound_q975"), "budget_bound_views_q975": t.get("budget_bound_views_q975"),
              "protocol_best_source_spearman_min": round(min(
                  r["best_source_spearman"] for r in results["devices"].values() if "best_source_spearman" in r), 4),
              "others": {m: {k: r[k] for k in ("spearman", "acc10_pct", "cheap30_spearman", "cheap30_acc10_pct")}
                         for m, r in others.items()}, "source": Path(os.path.relpath(Path(path).resolve(), ROOT)).as_posix()}
    if lost:
        return False, f"transfer does not beat {', '.join(lost)} on the subset-shift protocol", record
    return True, (f"subset-shift protocol (mean over {t.get('devices')} fully measured devices): {variant} Spearman "
                  f"{t['spearman']:.4f} / +-10 % {t['acc10_pct']:.1f} beats "
                  + ", ".join(f"{m} {r['spearman']:.4f} / {r['acc10_pct']:.1f}" for m, r in others.items())), record


def no_twin_record(path: "str | os.PathLike[str] | None", notwin: "dict | None", record: dict, device: str,
                   rows: np.ndarray, values: np.ndarray) -> dict:
    """The subset-shift record to quote for ``device``. The 27-device protocol holds for a device
    as close to some source as the protocol's devices are to theirs; when the device's best
    source Spearman on its training rows is below the lowest of theirs, the record of the no-twin
    protocol (``notwin``: the JSON of ``bench/subset_shift.py --max-source-spearman`` read from
    ``path``) is quoted instead, with the same variant's figures and budget bounds."""
    best = max(source_similarity(device, rows, values).values())
    floor = record["protocol_best_source_spearman_min"]
    out = {**record, "best_source_spearman": round(best, 4)}
    if best >= floor or notwin is None:
        return out
    t = notwin["summary"].get(record["bench_model"])
    if t is None:
        return out
    cap = notwin.get("max_source_spearman")
    out.update({k: t.get(k) for k in ("spearman", "acc10_pct", "cheap30_spearman", "cheap30_acc10_pct", "devices",
                                      "budget_bound_q975", "budget_bound_views_q975")})
    out["protocol"] = (f"no-twin: trained on the 1,999-arch subset of fully measured devices, transfer reading only "
                       f"sources with Spearman <= {cap} against the target on the subset, tested on the other 13,626 "
                       f"(mean over devices); quoted because this device's best source reaches {best:.3f}, below "
                       f"every protocol device's ({floor:.3f})")
    out["source"] = Path(os.path.relpath(Path(path).resolve(), ROOT)).as_posix()
    out["max_source_spearman"] = cap
    out.pop("others", None)
    return out


def train_indices_sha256(indices: np.ndarray) -> str:
    """Fingerprint of a split: sha256 of the sorted training indices as little-endian int64."""
    return hashlib.sha256(np.sort(np.asarray(indices, dtype="<i8")).tobytes()).hexdigest()


def choose(candidates: dict[str, dict], positive: dict[str, bool]) -> tuple[str, str]:
    """(name, reason): the mlp unless another candidate is clearly better on the holdout, i.e.

    * its Spearman is higher by more than 0.005, or
    * (gp) its Spearman is higher and its RMSE lower, or
    * it is no worse on Spearman (within 0.001) and on +-10 % accuracy (within 0.5 point) and its
      MAPE is less than half the mlp's (additive cost models: Eyeriss, FPGA).

    Candidates that predict a non-positive or non-finite cost for some architecture are out."""
    mlp = candidates["mlp"]
    best, reason = "mlp", "default model"
    for name in ("ridge", "ridge-log", "gp"):
        c = candidates.get(name)
        if c is None or not positive.get(name, False):
            continue
        if c["spearman"] > mlp["spearman"] + 0.005:
            why = f"{name} Spearman {c['spearman']:.4f} > mlp {mlp['spearman']:.4f} + 0.005"
        elif name == "gp" and c["spearman"] > mlp["spearman"] and c["rmse"] < mlp["rmse"]:
            why = (f"gp Spearman {c['spearman']:.4f} > mlp {mlp['spearman']:.4f} and RMSE {c['rmse']:.4g} "
                   f"< mlp {mlp['rmse']:.4g}")
        elif (c["spearman"] >= mlp["spearman"] - 0.001 and c["acc10_pct"] >= mlp["acc10_pct"] - 0.5
              and c["mape_pct"] < 0.5 * mlp["mape_pct"]):
            why = (f"{name} as good on Spearman ({c['spearman']:.4f} vs {mlp['spearman']:.4f}) and +-10 % "
                   f"({c['acc10_pct']:.1f} vs {mlp['acc10_pct']:.1f}), MAPE {c['mape_pct']:.3g} % < half of "
                   f"mlp's {mlp['mape_pct']:.3g} %")
        else:
            continue
        if best == "mlp" or c["spearman"] > candidates[best]["spearman"] or (
                c["spearman"] == candidates[best]["spearman"] and c["mape_pct"] < candidates[best]["mape_pct"]):
            best, reason = name, why
    if not positive.get("mlp", False) and best == "mlp":
        raise RuntimeError("the mlp predicts a non-positive cost and no ridge variant qualifies")
    return best, reason


def provenance(space: str, device: str, metric: str) -> list[str]:
    """The provenance labels of the measured columns that hold (device, metric) values."""
    from hwnas.devices import measured

    if space != "nb201":
        return []
    return [c.label for c in measured._nb201_view().get((device, metric), []) if np.isfinite(c.values).any()]


def build_one(space: str, device: str, metric: str, args, all_archs, command: str) -> dict:
    import torch

    from hwnas import __version__
    from hwnas.devices import failed_archs
    from hwnas.predictors.train import measured_targets, train_predictor

    values, measured_input = measured_targets(space, device, metric, args.dataset)
    n = int(np.isfinite(values).sum())
    train_size = int(round((1 - HOLDOUT_FRACTION) * n))
    epochs = args.epochs if train_size < args.large_from else args.epochs_large
    mlp_hparams = {"hidden": args.hidden, "layers": args.layers, "epochs": epochs}
    runs = {
        "mlp": ("mlp", mlp_hparams),
        "ridge": ("ridge", {"target": "raw"}),
        "ridge-log": ("ridge", {"target": "log"}),
    }
    use_transfer = n <= SUBSET_MAX and args.transfer_verdict[0]
    if use_transfer:
        runs["transfer"] = ("transfer", {"exclude": device, "view": args.transfer_verdict[2]["view"]})
    elif train_size <= args.gp_max_train:  # the exact GP is cubic in the training set
        runs["gp"] = ("gp", {"max_train": train_size})
    results, candidates, positive = {}, {}, {}
    for name, (model, hparams) in runs.items():
        start = time.perf_counter()
        r = train_predictor(device, metric, model, train_size, SPLIT_SEED, space, args.dataset, baseline=False,
                            **hparams)
        elapsed = time.perf_counter() - start
        everywhere = r.predictor.predict(all_archs)
        positive[name] = bool(np.all(np.isfinite(everywhere)) and np.all(everywhere > 0))
        results[name] = r
        candidates[name] = {**{k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.metrics.as_dict().items()},
                            "hparams": r.predictor.hparams, "positive_everywhere": positive[name],
                            "fit_s": round(r.fit_s, 2), "total_s": round(elapsed, 2)}
        print(f"  {device} {metric} {name:9s} Spearman {r.metrics.spearman:.4f} +-10 % {r.metrics.acc10_pct:5.1f} "
              f"MAPE {r.metrics.mape_pct:6.2f} ({elapsed:.1f} s)", flush=True)
    if use_transfer and positive["transfer"]:
        chosen, reason = "transfer", args.transfer_verdict[1]
    else:
        chosen, reason = choose(candidates, positive)
    r = results[chosen]
    assert all(np.array_equal(r.train_indices, o.train_indices) for o in results.values())

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{space}_{device}_{metric}"
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        folder = r.predictor.save(Path(tmp) / "p")
        config = json.loads((folder / "config.json").read_text())
        os.replace(folder / "weights.npz", stem.with_suffix(".npz"))
    stem.with_suffix(".npz").chmod(0o644)  # save() writes through mkstemp (0600)
    failed = int(failed_archs(space, device, metric).size)
    record = {
        "device": device, "metric": metric, "unit": r.unit, "model": r.predictor.name, "candidate": chosen,
        "train_size": r.train_size, "holdout_size": r.test_size, "measured_archs": n,
        "split": {"seed": SPLIT_SEED, "holdout_fraction": HOLDOUT_FRACTION, "dataset": args.dataset,
                  "rule": "hwnas.predictors.train.split_indices(measured, train_size, seed): "
                          "numpy.random.default_rng(seed).choice without replacement; holdout = the other measured",
                  "train_sha256": train_indices_sha256(r.train_indices)},
        "holdout": {k: candidates[chosen][k] for k in r.metrics.as_dict()},
        "candidates": candidates,
        "selection": reason,
        **({"subset_shift": no_twin_record(args.subset_shift_notwin, args.notwin, args.transfer_verdict[2], device,
                                           r.train_indices, values)}
           if use_transfer and chosen == "transfer" else {}),
        "provenance": provenance(space, device, metric),
        "measured_input": measured_input,
        "measured_tables": "shipped hwnas/_data tables only (no registered HW-NAS-Bench pickle)",
        "failed_archs": failed,
        "notes": ([f"{failed} architectures are marked failed on {device} (not deployable); the predictor still "
                   "returns a number for them: check hwnas.devices.failed_archs"] if failed else []),
        "hwnas_version": __version__,
        "torch_version": torch.__version__, "numpy_version": np.__version__, "torch_threads": torch.get_num_threads(),
        "command": command,
    }
    config.update(record)
    stem.with_suffix(".json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return {**record, "npz_bytes": stem.with_suffix(".npz").stat().st_size,
            "json_bytes": stem.with_suffix(".json").stat().st_size}


def markdown(rows: list[dict]) -> str:
    lines = ["| device | metric | model | train archs | holdout archs | holdout Spearman | Kendall | MAPE % "
             "| +-10 % | file size (npz + json) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        h = r["holdout"]
        size = r["npz_bytes"] + r["json_bytes"]
        model = r["candidate"] if r["candidate"] != "ridge" else "ridge (raw)"
        lines.append(f"| {r['device']} | {r['metric']} | {model} | {r['train_size']:,} | {r['holdout_size']:,} "
                     f"| {h['spearman']:.4f} | {h['kendall']:.4f} | {h['mape_pct']:.2f} | {h['acc10_pct']:.1f} "
                     f"| {size / 1024:.1f} KiB |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--dataset", default="cifar10", help="input the networks are built for (as train_predictor)")
    parser.add_argument("--metrics", default="latency,energy")
    parser.add_argument("--devices", default=None, help="comma-separated subset (default: every device with data)")
    parser.add_argument("--min-measured", type=int, default=300)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=200, help="mlp epochs below --large-from training archs")
    parser.add_argument("--epochs-large", type=int, default=50, help="mlp epochs from --large-from training archs")
    parser.add_argument("--large-from", type=int, default=5000)
    parser.add_argument("--gp-max-train", type=int, default=2000,
                        help="also fit the gp candidate up to this many training archs")
    parser.add_argument("--subset-shift", default=str(ROOT / "bench" / "results" / "subset_shift.json"),
                        help="bench/subset_shift.py's JSON: transfer for subset-only devices if it wins there")
    parser.add_argument("--subset-shift-notwin", default=str(ROOT / "bench" / "results" / "subset_shift_notwin.json"),
                        help="its no-twin run (--max-source-spearman): quoted for devices no source resembles")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--summary", default=None, help="also write the records to this JSON file")
    args = parser.parse_args()
    args.transfer_verdict = subset_shift_verdict(args.subset_shift)
    notwin = Path(args.subset_shift_notwin)
    args.notwin = json.loads(notwin.read_text()) if notwin.is_file() else None
    print(f"subset-only devices: {'transfer' if args.transfer_verdict[0] else 'shipped recipes'} "
          f"({args.transfer_verdict[1]})", flush=True)

    import torch

    torch.set_num_threads(1)
    from hwnas.devices import get_device
    from hwnas.devices.measured import devices_with_data, measured_column
    from hwnas.devices.registry import canonical_metric
    from hwnas.spaces import get_space

    script = Path(sys.argv[0]).resolve()
    try:
        script_text = str(script.relative_to(Path.cwd().resolve()))
    except ValueError:
        script_text = str(script)
    command = shlex.join(["python", script_text, *sys.argv[1:]])
    sp = get_space(args.space)
    all_archs = [sp.arch_at(i) for i in range(sp.num_archs)]
    wanted = None if args.devices is None else {get_device(d).name for d in args.devices.split(",") if d.strip()}
    rows, skipped, built = [], [], set()
    start = time.perf_counter()
    for metric in [canonical_metric(m) for m in args.metrics.split(",") if m.strip()]:
        for device in devices_with_data(sp.name, metric):
            if wanted is not None and device not in wanted:
                continue
            n = int(np.isfinite(measured_column(sp.name, device, metric)).sum())
            if n < args.min_measured:
                skipped.append(f"{device} {metric} ({n} measured)")
                continue
            rows.append(build_one(sp.name, device, metric, args, all_archs, command))
            built.add(f"{sp.name}_{device}_{metric}")
    out = Path(args.out)
    if wanted is None:  # a full build: drop files of predictors no longer built
        for path in sorted(out.glob(f"{sp.name}_*.*")):
            if path.suffix in (".npz", ".json") and path.stem not in built:
                print(f"removing stale {path}")
                path.unlink()
    print()
    print(markdown(rows))
    total = sum(r["npz_bytes"] + r["json_bytes"] for r in rows)
    print(f"\n{len(rows)} predictors, {total / 1024 / 1024:.2f} MiB ({total:,} bytes) in {out}; "
          f"{time.perf_counter() - start:.0f} s; "
          f"skipped (< {args.min_measured} measured): {', '.join(skipped) or 'none'}")
    if args.summary:
        Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
        Path(args.summary).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
