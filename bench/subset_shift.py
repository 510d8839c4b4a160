"""Subset shift (project issue 22): how well does a predictor trained on the biased 1,999-architecture
NB201 subset (the one Jetson TX2, Edge TPU, the Eagle and nn-Meter devices were measured on) do
on the rest of the space?

The subset (``$HWNAS_DATA_DIR/nb201/latency_oneproxy_1999_18dev_ms.csv``, column nb201_index)
has twice the space's conv3x3 per cell, no cell with >= 4 `none` edges and none of the cheapest
~30 % of the space. Its devices are measured nowhere else, so the shift is checked on the
fully measured devices (the 27 HELP columns + raspi4, pixel3, eyeriss, fpga among them): train on
the target's values on the 1,999 subset architectures, test on the other 13,626. Reported:
Spearman and % within +-10 %, overall and on the cheapest 30 % of the test set (by the target's
true latency), and the 97.5th percentile of log(measured / predicted) (``log_ratio_q975``, overall
and cheapest 30 %): the margin a budget check needs so that 97.5 % of the networks it accepts are
within budget. Pooled over every device's test archs: ``budget_bound_q975`` (over the
prediction) and, for the fixed-view transfer variants, ``budget_bound_views_q975`` (over the
largest of the adapter's views, which disagree where the model extrapolates): the shipped
``transfer`` predictors' upper bound (`hwnas.devices.costs`).

Models: the shipped recipes trained on the subset (``mlp``: hidden 128, 2 layers, --mlp-epochs;
``ridge`` on the raw cost and on the log cost; ``gp``), all via
``hwnas.predictors.get_predictor(model, space="nb201", dataset="cifar10")``, and ``transfer``
(the adapter with every OTHER fully measured device as a source: the target's own column is
excluded, and its values outside the subset are never read; its view chosen by leave-one-out
error on the subset), ``transfer-log`` (its view fixed to ``full``: the log cost as a line in
the sources' log-costs, op counts, log FLOPs/params and the one-hot genotype) and ``transfer-raw``
(fixed to ``raw:full``: the cost as a line in the sources' costs, op counts, FLOPs, params and
the one-hot genotype). Beside each device: the swap-twin
noise ceiling of ``bench/latency_noise.py`` (Spearman ceiling, +-10 % bound and oracle).

    python bench/subset_shift.py                              # 27 devices, every model
    python bench/subset_shift.py --devices raspi4,pixel3 --models transfer,gp
    python bench/subset_shift.py --merge a.json,b.json        # print the table of earlier runs
    python bench/subset_shift.py --models transfer-raw,transfer-log --max-source-spearman 0.7 \
        --out bench/results/subset_shift_notwin.json          # no close relative among the sources
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

MODELS = ("transfer", "transfer-log", "transfer-raw", "gp", "mlp", "ridge", "ridge-log")
TRANSFER_VIEWS = {"transfer": "auto", "transfer-log": "full", "transfer-raw": "raw:full"}  # bench name -> the transfer predictor's view
ROOT = Path(__file__).resolve().parents[1]


def subset_indices(data: Path) -> np.ndarray:
    import pandas as pd

    path = data / "nb201" / "latency_oneproxy_1999_18dev_ms.csv"
    if not path.is_file():
        sys.exit(f"no subset file at {path}; set HWNAS_DATA_DIR to the data folder")
    return np.unique(pd.read_csv(path, usecols=["nb201_index"])["nb201_index"].to_numpy(np.int64))


def help_devices(data: Path) -> list[str]:
    import pandas as pd

    from hwnas.devices import get_device

    cols = pd.read_csv(data / "nb201" / "latency_help_27dev_ms.csv", nrows=1).columns
    return [get_device(c).name for c in cols if c not in ("nb201_index", "arch_str")]


def _noise_module():
    spec = importlib.util.spec_from_file_location("latency_noise", ROOT / "bench" / "latency_noise.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def noise_ceilings(devices: list[str]) -> dict[str, dict]:
    """Swap-twin noise figures per device (bench/latency_noise.py)."""
    from hwnas import get_space
    from hwnas.devices import measured_column

    mod = _noise_module()
    space = get_space("nb201")
    pairs = mod.swap_twins({space.arch_at(i).genotype: i for i in range(space.num_archs)})
    out = {}
    for d in devices:
        lat = measured_column("nb201", d, "latency")
        a, b = pairs.T
        out[d] = mod.pair_noise(lat[a], lat[b])
    return out


def scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    from hwnas.predictors.metrics import accuracy_within, spearman

    cheap = np.argsort(true, kind="stable")[:int(0.3 * true.size)]
    log_ratio = np.log(true / pred)  # > 0: the device is slower than predicted
    return {"spearman": spearman(pred, true), "acc10_pct": accuracy_within(pred, true, 0.10),
            "cheap30_spearman": spearman(pred[cheap], true[cheap]),
            "cheap30_acc10_pct": accuracy_within(pred[cheap], true[cheap], 0.10),
            "log_ratio_q975": float(np.quantile(log_ratio, 0.975)),
            "cheap30_log_ratio_q975": float(np.quantile(log_ratio[cheap], 0.975))}


def source_similarity(device: str, rows: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Spearman between the target's values on ``rows`` and each other fully measured device's."""
    from hwnas.predictors.adapt import source_matrix
    from hwnas.predictors.metrics import spearman

    names, src = source_matrix("nb201", "latency")
    return {n: float(spearman(src[rows, j], y[rows])) for j, n in enumerate(names) if n != device}


def fit_model(model: str, device: str, train: np.ndarray, y: np.ndarray, mlp_epochs: int,
              also_exclude: "list[str] | None" = None):
    from hwnas.predictors import get_predictor

    kw = {"space": "nb201", "dataset": "cifar10", "seed": 0}
    if model in TRANSFER_VIEWS:
        p = get_predictor("transfer", exclude=[device, *(also_exclude or [])], view=TRANSFER_VIEWS[model], **kw)
    elif model == "mlp":
        p = get_predictor("mlp", hidden=128, layers=2, epochs=mlp_epochs, **kw)
    elif model == "ridge":
        p = get_predictor("ridge", target="raw", **kw)
    elif model == "ridge-log":
        p = get_predictor("ridge", target="log", **kw)
    elif model == "gp":
        p = get_predictor("gp", max_train=int(train.size), **kw)
    else:
        raise SystemExit(f"unknown model {model!r}; use {', '.join(MODELS)}")
    p.fit([int(i) for i in train], y[train])
    return p


def pooled_bound(log_ratios: "list[np.ndarray]", level: float = 0.975) -> dict[str, float]:
    """The ``level`` quantile of log(measured / predicted) pooled over every device's test archs
    (one margin for all devices: ``level`` of all their predictions are below prediction x
    exp(q)), and how often each device exceeds it."""
    log_ratios = [r[np.isfinite(r)] for r in log_ratios]  # a non-positive prediction has no ratio
    pooled = np.concatenate(log_ratios)
    q = float(np.quantile(pooled, level))
    per_device = np.array([float(np.mean(r > q)) for r in log_ratios])
    return {"log_ratio": round(q, 4), "level": level, "exceed_pct": round(100 * float(np.mean(pooled > q)), 2),
            "exceed_pct_median_device": round(100 * float(np.median(per_device)), 2),
            "exceed_pct_worst_device": round(100 * float(per_device.max()), 2), "devices": len(log_ratios)}


def run(devices: list[str], models: list[str], sub: np.ndarray, mlp_epochs: int,
        log_ratios: "dict[str, list[np.ndarray]] | None" = None, max_source_spearman: "float | None" = None) -> dict:
    """Per device and model, `scores` on the 13,626 archs outside the subset; ``log_ratios``
    (optional) collects each model's log(measured / predicted) per device. ``max_source_spearman``:
    transfer reads only the sources whose Spearman with the target on the subset is at most this
    (a device with no close relative among the sources, as Jetson TX2 is); a device left with
    fewer than 3 sources is skipped."""
    import torch

    from hwnas.devices import measured_column

    torch.set_num_threads(1)
    rest = np.setdiff1d(np.arange(15_625), sub)
    out: dict = {}
    for device in devices:
        y = measured_column("nb201", device, "latency")
        if not np.all(np.isfinite(y[sub])) or not np.all(np.isfinite(y[rest])):
            print(f"skip {device}: not fully measured", flush=True)
            continue
        rec: dict = {}
        similar = source_similarity(device, sub, y)
        dropped = [n for n, r in similar.items() if max_source_spearman is not None and r > max_source_spearman]
        if len(similar) - len(dropped) < 3:
            print(f"skip {device}: {len(similar) - len(dropped)} sources at Spearman <= {max_source_spearman}", flush=True)
            continue
        rec["best_source_spearman"] = round(max(similar.values()), 4)
        for model in models:
            t0 = time.perf_counter()
            p = fit_model(model, device, sub, y, mlp_epochs, also_exclude=dropped)
            if model in TRANSFER_VIEWS:
                assert device not in p.sources
            pred = p.predict([int(i) for i in rest])
            if log_ratios is not None:
                log_ratios.setdefault(model, []).append(np.log(y[rest] / pred))
                if TRANSFER_VIEWS.get(model, "auto") != "auto":  # the bound's other basis: the largest view
                    upper = p.view_costs([int(i) for i in rest]).max(axis=1)
                    log_ratios.setdefault(model + "@views", []).append(np.log(y[rest] / upper))
            rec[model] = {**scores(pred, y[rest]), "fit_predict_s": round(time.perf_counter() - t0, 1)}
            r = rec[model]
            print(f"{device:18s} {model:9s} Spearman {r['spearman']:.4f} +-10 % {r['acc10_pct']:5.1f} | cheap 30 % "
                  f"{r['cheap30_spearman']:.4f} {r['cheap30_acc10_pct']:5.1f} ({r['fit_predict_s']} s)", flush=True)
        out[device] = rec
    return out


def markdown(results: dict, noise: dict, models: list[str]) -> str:
    head = ("| device | twin ceiling rho / +-10 % oracle | "
            + " | ".join(f"{m} rho / +-10 % / cheap rho / cheap +-10 %" for m in models) + " |")
    lines = [head, "|" + "---|" * (len(models) + 2)]

    def cell(r):
        return (f"{r['spearman']:.4f} / {r['acc10_pct']:.1f} / {r['cheap30_spearman']:.3f} / "
                f"{r['cheap30_acc10_pct']:.1f}") if r else "-"

    for device, rec in results.items():
        n = noise.get(device, {})
        ceil = f"{n['spearman_ceiling']:.4f} / {n['acc10_oracle_pct']:.1f}" if n else "-"
        lines.append(f"| {device} | {ceil} | " + " | ".join(cell(rec.get(m)) for m in models) + " |")
    mean = summary(results, models)  # a NaN Spearman (constant prediction) counts as 0 there
    lines.append(f"| **mean ({len(results)} devices)** | | " + " | ".join(cell(mean.get(m)) for m in models) + " |")
    wins = {m: sum(1 for rec in results.values() if m in rec and all(
        rec[m]["spearman"] >= rec[o]["spearman"] for o in models if o in rec)) for m in models}
    lines.append("")
    lines.append("best Spearman on: " + ", ".join(f"{m} {w}" for m, w in wins.items()) + " devices")
    return "\n".join(lines)


def summary(results: dict, models: list[str]) -> dict:
    """Per model, the mean of each figure over the devices it ran on. A NaN Spearman (the model
    predicts one constant, as the gp does on devices released in whole milliseconds) counts as 0:
    it ranks nothing, and leaving the device out would compare models on different devices."""
    out = {}
    for m in models:
        rows = [rec[m] for rec in results.values() if m in rec]
        if rows:
            out[m] = {k: round(float(np.mean(np.nan_to_num([r[k] for r in rows], nan=0.0))), 4)
                      for k in rows[0] if k != "fit_predict_s"}
            out[m]["devices"] = len(rows)
    return out


def main(argv: "list[str] | None" = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", default=None, help="comma-separated (default: the 27 fully measured HELP devices)")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--mlp-epochs", type=int, default=200)
    ap.add_argument("--data", default=os.environ.get("HWNAS_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--out", default="bench/results/subset_shift.json")
    ap.add_argument("--merge", default=None, help="comma-separated JSON files of earlier runs: merge and print")
    ap.add_argument("--max-source-spearman", type=float, default=None,
                    help="transfer reads only sources with Spearman <= this against the target on the subset "
                         "(the no-twin protocol; devices left with < 3 sources are skipped)")
    args = ap.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    t0 = time.perf_counter()
    if args.merge:
        results: dict = {}
        pooled, pooled_views = {}, {}
        for f in args.merge.split(","):
            earlier = json.loads(Path(f).read_text())
            for d, rec in earlier["devices"].items():
                results.setdefault(d, {}).update(rec)
            for m, rec in earlier["summary"].items():  # a pooled bound is kept from the file that ran the model
                if "budget_bound_q975" in rec:
                    pooled[m] = rec["budget_bound_q975"]
                if "budget_bound_views_q975" in rec:
                    pooled_views[m] = rec["budget_bound_views_q975"]
        command = "python bench/subset_shift.py " + " ".join(argv if argv is not None else sys.argv[1:])
    else:
        data = Path(args.data)
        devices = ([d.strip() for d in args.devices.split(",") if d.strip()] if args.devices
                   else help_devices(data))
        log_ratios: dict[str, list[np.ndarray]] = {}
        results = run(devices, models, subset_indices(data), args.mlp_epochs, log_ratios, args.max_source_spearman)
        pooled = {m: pooled_bound(r) for m, r in log_ratios.items() if not m.endswith("@views")}
        pooled_views = {m[:-len("@views")]: pooled_bound(r) for m, r in log_ratios.items() if m.endswith("@views")}
        command = "python bench/subset_shift.py " + " ".join(argv if argv is not None else sys.argv[1:])
    models = [m for m in models if any(m in rec for rec in results.values())]
    table = summary(results, models)
    for key, bounds in (("budget_bound_q975", pooled), ("budget_bound_views_q975", pooled_views)):
        for m, bound in bounds.items():  # only where the pooled devices are the ones summarised
            if m in table and bound["devices"] == table[m]["devices"]:
                table[m][key] = bound
    noise = noise_ceilings(list(results))
    print()
    print(markdown(results, noise, models))
    for m, rec in table.items():
        for key, basis in (("budget_bound_q975", "prediction"), ("budget_bound_views_q975", "largest view")):
            if key in rec:
                b = rec[key]
                print(f"{m}: 97.5 % of measured values over {b['devices']} devices are below {basis} x "
                      f"{np.exp(b['log_ratio']):.3f} (exceeded by {b['exceed_pct']} %, median device "
                      f"{b['exceed_pct_median_device']} %, worst {b['exceed_pct_worst_device']} %)")
    record = {"command": command, "protocol": "train on the target's values on the 1,999 subset archs "
              "(latency_oneproxy_1999_18dev_ms.csv nb201_index), test on the other 13,626; cheap30 = the 30 % "
              "of the test archs with the lowest true latency; transfer's sources: every other fully measured device",
              "models": models, "mlp_epochs": args.mlp_epochs, "max_source_spearman": args.max_source_spearman,
              "summary": table,
              "noise_swap_twins": noise, "devices": results, "wall_s": round(time.perf_counter() - t0, 1)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"\nwrote {out} ({record['wall_s']} s)")


if __name__ == "__main__":
    main()
