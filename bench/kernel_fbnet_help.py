"""Kernel-level predictor vs gcn vs mlp vs flops, issue 21 acceptance (b): FBNet latency (ms) on
every device column of HELP's FBNet file, trained on 900 networks, tested on the other 4,100.

Data: ``$HWNAS_DATA_DIR/fbnet/latency_help_5000_27dev_ms.csv`` (default ../shared/data): HELP's
5,000 FBNet networks on 27 device configs, all with the **CIFAR-100 skeleton** (32x32 input, 100
classes): HELP's metainfo says so, and its eyeriss / fpga / pixel3 / raspi4 columns equal
HW-NAS-Bench's CIFAR-100 block-table sums for all 5,000 networks (max difference 1e-14 ms; the
ImageNet sums differ by up to 155 ms). Split: ``hwnas.predictors.train.split_indices`` over rows
0..4999, i.e. ``np.sort(np.random.default_rng(0).choice(5000, 900, replace=False))`` trains, the
other 4,100 rows test -- the same draw for every device and model.

Models (all on the same split): ``kernel`` (`hwnas.predictors.kernel`, default options, ONNX
graphs composed from per-layer exports by `hwnas.predictors.kernel_blocks.fbnet_network_graphs`,
identical to exporting each network; cached in the graph cache); ``kernel-cv`` (the kernel option
set with the best mean Spearman in a 5-fold CV inside the 900 training networks, from
``--cv-options``; the 4,100 test networks are not looked at; only on ``--cv-devices``); ``mlp`` (one-hot,
shipped defaults); ``flops`` (least squares on FLOPs, params and a constant, as
bench/kernel_predictor.py's flops column); ``additive`` (ridge on the per-(layer, op) one-hot, the
model `hwnas.devices.space_costs.fbnet_additive_model` prices unmeasured networks with; reference);
``gcn`` (shipped defaults) only on ``--gcn-devices`` (a fit takes about 8 min on one thread).

Per device the table also gives the value resolution of the released measurements (the phones'
are whole milliseconds) and the Spearman a perfect predictor could reach against them: the
measured values are the true latencies rounded to the resolution, so the test set has rank ties
that no predictor reproduces; the ceiling is the mean Spearman between the measurements and the
measurements plus uniform noise of one resolution step (the unknown true values, 20 draws).
Rounding is not what limits the phones, though (ceiling >= 0.998): their timings depend on the
row order. The networks are in random order (lag-1 autocorrelation of FLOPs over the rows 0.004),
yet the residuals r = log(measured / additive fit) of neighbouring rows are correlated (phones,
Xeons, 2080ti and titan_rtx: lag-1 +0.3..+0.7, slow drift; 1080ti: a period of 3 rows, lag-1 -0.2..-0.3,
lag-3 +0.5): HELP measured the rows in order and the device's state changed along the way.
``order R2`` is the share of var(r) that the residuals of the 25 rows either side explain (least
squares on r[i-k] + r[i+k], additive model fitted on the 900 training rows; the four HW-NAS-Bench
block-table columns, which have no such effect, give 0.005); ``drift ceiling`` is the Spearman of
the measurements against the measurements with that order component divided out (shrunk by the
share that the neighbours' own errors leak into it), on the test rows: about what a predictor
that knows each architecture's order-free latency exactly reaches. It is an estimate, and an
upper one: noise that does not depend on the order is kept in both.

    python bench/kernel_fbnet_help.py                 # 27 columns: kernel, mlp, flops, additive; gcn on --gcn-devices
    python bench/kernel_fbnet_help.py --gcn-devices none          # no gcn (about 7 min on one thread)
    python bench/kernel_fbnet_help.py --devices 1080ti_1,silver_4114,pixel2 --models kernel,gcn --cv-devices all
        --time-graphs 0 --out runs/kernel_fbnet_help/gcn_cv.json      (one line: gcn + kernel-cv, about 30 min)
    python bench/kernel_fbnet_help.py --devices pixel2,titan_rtx_1 --models kernel,flops

The first run exports each FBNet part once and composes + caches the 5,000 graphs (about 2 min);
later runs read them (2 s). gcn takes 8 min per device; kernel 10 s; kernel-cv (5 option sets x
5 folds) 1.5-2 min. Measured (one thread): kernel >= 0.98 on 18 of 27 columns; the CV option sets
differ by <= 0.0006 in CV Spearman (the defaults are fine on FBNet); gcn within 0.006 of kernel.

Run as one process on one thread (OMP_NUM_THREADS=1 is set here; torch.set_num_threads(1)).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CSV = "fbnet/latency_help_5000_27dev_ms.csv"
MODELS = ("kernel", "kernel-cv", "gcn", "mlp", "flops", "additive")
GCN_DEVICES = "1080ti_1,silver_4114,pixel2"  # one GPU, one CPU, one phone (HELP's names), fixed beforehand
CV_OPTIONS = "-;context=false;two_level=false;alpha=1e-3;context_alpha=1e-1"  # '-' = the defaults
TARGET = 0.98


def load(data_dir: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(op ids [5000, 22], {HELP column: latency [5000] in ms})."""
    import csv

    path = Path(data_dir) / CSV
    if not path.is_file():
        sys.exit(f"no HELP FBNet file at {path}; set HWNAS_DATA_DIR to the data folder")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    ops = np.array([[int(v) for v in r["op_idx_list"].split()] for r in rows], dtype=np.int64)
    cols = [c for c in rows[0] if c not in ("row", "op_idx_list", "block_names")]
    return ops, {c: np.array([float(r[c]) for r in rows]) for c in cols}


def hwnas_device(column: str) -> str:
    """The hwnas device name of a HELP column (``1080ti_1`` -> ``gtx-1080ti-b1``)."""
    from importlib import resources

    meta = json.loads(resources.files("hwnas._data").joinpath("fbnet_measured.json").read_text())
    names = {c["source_column"]: c["device"] for c in meta["columns"]}
    return names.get(column, column)  # raspi4, pixel3, eyeriss, fpga: the same names


def resolution(y: np.ndarray) -> float | None:
    """The step (ms) every value is a multiple of (1, 0.1, ..., 1e-4), or None (unrounded)."""
    for q in (1.0, 0.1, 0.01, 1e-3, 1e-4):
        if np.allclose(np.round(y / q) * q, y, rtol=0, atol=q * 1e-6):
            return q
    return None


def rounding_ceiling(y: np.ndarray, q: float | None, draws: int = 20) -> float:
    """Mean Spearman of ``y`` (rounded to ``q``) against ``y`` + U(-q/2, q/2): what a predictor of
    the unrounded latency would score; 1 where unrounded and tie-free."""
    from scipy.stats import spearmanr

    if q is None and np.unique(y).size == y.size:
        return 1.0
    step = q if q is not None else float(np.min(np.diff(np.unique(y))))
    rng = np.random.default_rng(0)
    return float(np.mean([spearmanr(y, y + rng.uniform(-step / 2, step / 2, y.size)).statistic
                          for _ in range(draws)]))


def drift_ceiling(ops: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
                  lags: int = 25) -> dict[str, float]:
    """Measurement-order effects (see the module docstring): of the additive model's log residuals
    r over the rows, the lag-1 autocorrelation, the share of their variance that r of the ``lags``
    rows either side explain (least squares on r[i-k] + r[i+k], k = 1..lags: ``order_r2``), and the
    Spearman of y against y / exp(that order component, shrunk) on ``test``."""
    from scipy.stats import spearmanr

    r = np.log(y / additive(ops[train], y[train], ops))
    r = r - r.mean()
    n = r.size
    pad = np.concatenate([np.zeros(lags), r, np.zeros(lags)])
    x = np.stack([pad[lags - k:lags - k + n] + pad[lags + k:lags + k + n] for k in range(1, lags + 1)], axis=1)
    w, *_ = np.linalg.lstsq(x, r, rcond=None)
    d = x @ w
    # the neighbours' own non-order error leaks into d: shrink it by that variance share
    leak = 2.0 * float(np.sum(w ** 2)) * max(float(r.var() - d.var()), 0.0)
    d = d * np.sqrt(max(1.0 - leak / max(float(d.var()), 1e-30), 0.0))
    return {"residual_lag1": float(np.corrcoef(r[:-1], r[1:])[0, 1]),
            "order_r2": float(1 - np.var(r - x @ w) / r.var()), "order_sd": float(d.std()),
            "drift_ceiling_spearman": float(spearmanr(y[test] * np.exp(-d[test]), y[test]).statistic)}


def memo_splits(pred, splits: dict[int, object]) -> None:
    """Let ``pred`` (a KernelPredictor) split a graph once per process: every device uses the same
    (default) fusion rules, so a graph's kernels are the same for all of them."""
    original = pred.split

    def split(g):
        s = splits.get(id(g))
        if s is None:
            s = splits[id(g)] = original(g)
        return s

    pred.split = split


def fit_kernel(graphs, y, device: str, opts: dict, splits: dict):
    from hwnas.predictors import get_predictor

    pred = get_predictor("kernel", space="fbnet", dataset="cifar100", seed=0, rules_device=device, **opts)
    if pred.rules.name != "default":
        raise SystemExit(f"{device}: kernel rules {pred.rules.name!r}; the split memo assumes the default rules")
    memo_splits(pred, splits)
    return pred.fit_graphs(graphs, y)


def parse_opts(text: str) -> dict:
    return {} if text.strip() in ("", "-") else dict(item.split("=", 1) for item in text.split(","))


def cv_kernel(graphs, y, device: str, candidates: list[str], splits: dict, folds: int = 5) -> list[dict]:
    """Mean Spearman / +-10 % of each kernel option set over ``folds`` folds of the training networks."""
    from hwnas.predictors.metrics import compute_metrics

    parts = np.array_split(np.random.default_rng(0).permutation(len(y)), folds)
    out = []
    for text in candidates:
        rho, acc = [], []
        for k in range(folds):
            val = parts[k]
            fit = np.sort(np.concatenate([parts[j] for j in range(folds) if j != k]))
            p = fit_kernel([graphs[i] for i in fit], y[fit], device, parse_opts(text), splits)
            m = compute_metrics(p.predict_graphs([graphs[i] for i in val]), y[val])
            rho.append(m.spearman)
            acc.append(m.acc10_pct)
        out.append({"options": text, "cv_spearman": float(np.mean(rho)), "cv_acc10_pct": float(np.mean(acc))})
        print(f"  cv {text}: Spearman {out[-1]['cv_spearman']:.4f}, +-10 % {out[-1]['cv_acc10_pct']:.1f}", flush=True)
    return out


def time_graphs(ops: np.ndarray, n: int) -> dict:
    """Seconds per network of exporting it whole (`network_graph`) and of composing it from its
    parts' exports (`fbnet_network_graph`, parts already exported, graph cache not used), on the
    first ``n`` rows; both give identical graphs (checked here too)."""
    from hwnas.predictors.kernel_blocks import fbnet_network_graph, network_graph
    from hwnas.spaces import Arch

    whole, composed, same = [], [], 0
    for g in ops[:n]:
        fbnet_network_graph(g, "cifar100", use_cache=False)  # parts exported (once) outside the timing
        start = time.perf_counter()
        a = fbnet_network_graph(g, "cifar100", use_cache=False)
        composed.append(time.perf_counter() - start)
        start = time.perf_counter()
        b = network_graph("fbnet", Arch("fbnet", tuple(int(v) for v in g)), "cifar100")
        whole.append(time.perf_counter() - start)
        same += not a.differing_fields(b)
    return {"networks": n, "identical": same, "export_s_mean": float(np.mean(whole)),
            "export_s_median": float(np.median(whole)), "composed_s_mean": float(np.mean(composed)),
            "composed_s_median": float(np.median(composed))}


def additive(ops_train, y_train, ops_test) -> np.ndarray:
    """Ridge on the per-(layer, op) one-hot, as `hwnas.devices.space_costs` fits it."""
    from hwnas.devices.space_costs import _fit_additive

    b, w = _fit_additive(ops_train, y_train)
    return b + w[np.arange(ops_test.shape[1])[None, :], ops_test].sum(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get("HWNAS_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--devices", default="all", help="HELP column names, comma-separated, or 'all'")
    ap.add_argument("--models", default="kernel,gcn,mlp,flops,additive")
    ap.add_argument("--gcn-devices", default=GCN_DEVICES, help="columns to fit gcn on ('all', 'none')")
    ap.add_argument("--cv-devices", default="none",
                    help="columns to add kernel-cv on ('all', 'none'): options chosen by 5-fold CV in the 900")
    ap.add_argument("--cv-options", default=CV_OPTIONS, help="';'-separated option sets, each k=v,k=v ('-': defaults)")
    ap.add_argument("--train-size", type=int, default=900)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-graphs", type=int, default=20, metavar="N",
                    help="time both graph builders on the first N rows (0: skip)")
    ap.add_argument("--out", default="runs/kernel_fbnet_help/kernel_fbnet_help.json")
    args = ap.parse_args()

    import torch

    from hwnas.predictors import get_predictor
    from hwnas.predictors.kernel_blocks import fbnet_network_graphs
    from hwnas.predictors.metrics import compute_metrics
    from hwnas.predictors.train import split_indices
    from hwnas.predictors.tuned import tuned_hparams
    from hwnas.spaces import Arch

    torch.set_num_threads(1)
    wall = time.perf_counter()
    ops, columns = load(args.data)
    devices = list(columns) if args.devices == "all" else [d.strip() for d in args.devices.split(",") if d.strip()]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if set(models) - set(MODELS):
        sys.exit(f"unknown model(s) {sorted(set(models) - set(MODELS))}; choose from {', '.join(MODELS)}")
    gcn_devices, cv_devices = (devices if v == "all" else [] if v == "none" else [d.strip() for d in v.split(",")]
                               for v in (args.gcn_devices, args.cv_devices))
    if cv_devices and "kernel-cv" not in models:
        models.insert(models.index("kernel") + 1 if "kernel" in models else 0, "kernel-cv")
    train, test = split_indices(np.arange(len(ops)), args.train_size, args.seed)
    archs = [Arch("fbnet", tuple(int(v) for v in g)) for g in ops]
    results: dict = {"command": "python " + " ".join(sys.argv), "data": str(Path(args.data) / CSV),
                     "skeleton": "cifar100 (32x32, 100 classes)", "unit": "ms",
                     "split": {"train_size": int(train.size), "test_size": int(test.size), "seed": args.seed,
                               "draw": f"np.sort(np.random.default_rng({args.seed}).choice({len(ops)}, "
                                       f"{args.train_size}, replace=False))", "train_rows": train.tolist()},
                     "machine": {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                                 "torch_threads": 1}, "devices": {}}
    graphs = None
    if args.time_graphs:
        results["graph_timing"] = time_graphs(ops, args.time_graphs)
        print(f"graph builders: {results['graph_timing']}", flush=True)
    if {"kernel", "kernel-cv", "gcn"} & set(models):
        start = time.perf_counter()
        graphs = fbnet_network_graphs(ops, "cifar100", progress=sys.stderr.isatty())
        results["graphs_s"] = round(time.perf_counter() - start, 1)
        print(f"{len(graphs)} FBNet graphs in {results['graphs_s']} s", flush=True)
    splits: dict = {}
    out = Path(args.out)
    for col in devices:
        y = columns[col]
        dev = hwnas_device(col)
        q = resolution(y)
        rec: dict = {"hwnas_device": dev, "resolution_ms": q, "distinct_test_values": int(np.unique(y[test]).size),
                     "rounding_ceiling_spearman": rounding_ceiling(y[test], q),
                     **drift_ceiling(ops, y, train, test), "models": {}}
        print(f"{col} ({dev}): resolution {q if q is not None else 'unrounded'} ms, rounding ceiling "
              f"{rec['rounding_ceiling_spearman']:.4f}, residual lag-1 {rec['residual_lag1']:+.2f}, "
              f"order R2 {rec['order_r2']:.2f}, "
              f"drift ceiling {rec['drift_ceiling_spearman']:.4f}", flush=True)
        for model in models:
            if (model == "gcn" and col not in gcn_devices) or (model == "kernel-cv" and col not in cv_devices):
                continue
            start = time.perf_counter()
            extra: dict = {}
            if model in ("kernel", "kernel-cv"):
                gtrain = [graphs[i] for i in train]
                opts = {}
                if model == "kernel-cv":
                    cv = cv_kernel(gtrain, y[train], dev, args.cv_options.split(";"), splits)
                    best = max(cv, key=lambda r: (r["cv_spearman"], r["cv_acc10_pct"]))
                    opts = parse_opts(best["options"])
                    extra = {"cv": cv, "chosen": best["options"]}
                pred = fit_kernel(gtrain, y[train], dev, opts, splits)
                p = pred.predict_graphs([graphs[i] for i in test])
                extra.update(init=getattr(pred, "init_used", None), types=list(pred.type_names),
                             overhead_ms=pred.overhead, unseen_kernels_in_test=pred.last_unseen)
            elif model == "gcn":
                tuned = tuned_hparams(dev, "gcn")
                pred = get_predictor("gcn", space="fbnet", dataset="cifar100", seed=args.seed, **tuned)
                pred.fit_graphs([graphs[i] for i in train], y[train])
                p = pred.predict_graphs([graphs[i] for i in test])
                extra = {"tuned_hparams": tuned}
            elif model == "additive":
                p = additive(ops[train], y[train], ops[test])
            else:
                pred = get_predictor(model, space="fbnet", dataset="cifar100", seed=args.seed)
                pred.fit([archs[i] for i in train], y[train])
                p = pred.predict([archs[i] for i in test])
            m = compute_metrics(p, y[test])
            rec["models"][model] = {**m.as_dict(), "wall_s": round(time.perf_counter() - start, 1), **extra}
            print(f"  {model}: Spearman {m.spearman:.4f}, +-10 % {m.acc10_pct:.1f} %, "
                  f"{rec['models'][model]['wall_s']} s", flush=True)
        results["devices"][col] = rec
        results["wall_s"] = round(time.perf_counter() - wall, 1)
        _write(out, results, models)
    results["markdown"] = table(results, models)
    _write(out, results, models)
    print("\n" + results["markdown"] + f"\n\nwall time {results['wall_s']} s; wrote {out}")


def table(results: dict, models: list[str]) -> str:
    """The markdown table: per device, Spearman / % within +-10 % of each model that ran, the
    resolution and the ceilings."""
    models = [m for m in models if any(m in rec["models"] for rec in results["devices"].values())]
    lines = [f"FBNet (CIFAR-100 skeleton) latency on HELP's devices: train {results['split']['train_size']} "
             f"(seed {results['split']['seed']}), test {results['split']['test_size']}; cells Spearman / % within "
             "+-10 %; rounding ceiling = Spearman a perfect predictor of the unrounded latency reaches against "
             "the released (rounded) values; lag-1 / order R2 = autocorrelation of the additive fit's residuals "
             "over the rows / share of their variance the neighbouring rows' residuals explain; drift ceiling = "
             "Spearman against the values with that row-order component divided out",
             "", "| device | resolution (ms) | rounding ceiling | lag-1 | order R2 | drift ceiling | "
             + " | ".join(models) + " |", "|---|---|---|---|---|---|" + "---|" * len(models)]
    hits = {m: 0 for m in models}
    for col, rec in results["devices"].items():
        cells = []
        for m in models:
            r = rec["models"].get(m)
            cells.append(f"{r['spearman']:.4f} / {r['acc10_pct']:.1f}" if r else "-")
            hits[m] += bool(r and r["spearman"] >= TARGET)
        q = rec["resolution_ms"]
        lines.append(f"| {col} | {q if q is not None else 'unrounded'} | {rec['rounding_ceiling_spearman']:.4f} | "
                     f"{rec['residual_lag1']:+.2f} | {rec['order_r2']:.2f} | {rec['drift_ceiling_spearman']:.4f} | "
                     + " | ".join(cells) + " |")
    n = {m: sum(m in rec["models"] for rec in results["devices"].values()) for m in models}
    lines += ["", "Spearman >= 0.98: " + ", ".join(f"{m} {hits[m]} of {n[m]}" for m in models)]
    return "\n".join(lines)


def _write(out: Path, results: dict, models: list[str]) -> None:
    results["markdown"] = table(results, models)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(results, indent=1, default=float) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
