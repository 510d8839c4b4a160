"""Kernel-level predictor (nn-Meter-style ``kernel``) vs gcn vs mlp vs flops, issue 21 acceptance (a):
NB201 latency on the six HW-NAS-Bench devices, 900 training architectures drawn as
bench/predictors_eval.py draws them (`hwnas.predictors.train.train_predictor`, seed 0), tested on
every other measured architecture. Spearman and +-10 % accuracy per model and device.

    python bench/kernel_predictor.py                                  # kernel, mlp, flops on six devices; gcn on --gcn-devices
    python bench/kernel_predictor.py --devices raspi4 --models kernel,flops
    python bench/kernel_predictor.py --gcn-devices all                # gcn everywhere (7-22 min per fit on 1 thread)

gcn and mlp use their shipped defaults (and the per-device options of `hwnas.predictors.tuned`,
as `train_predictor` applies them). The ONNX graphs come from the cache
(`hwnas predictors graphs --space nb201 --dataset cifar10`). (b), FBNet on the HELP devices, is
bench/kernel_fbnet_help.py.

``--cross-space N`` adds acceptance (c) on a sample: N random FBNet networks (CIFAR-100 skeleton,
seed 0), whose cost on the five HW-NAS-Bench devices is the FBNet block-table sum
(`hwnas.devices.fbnet.fbnet_costs`, HW-NAS-Bench's own number), predicted by the kernel model
trained on (i) the device's FBNet block table only (`hwnas.predictors.kernel_blocks`), (ii) its
900 NB201 training networks plus the block table, (iii) the NB201 networks only ((i) and (ii) with
option context=false: a block alone has other neighbours than inside a network):

    python bench/kernel_predictor.py --models kernel --cross-space 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

DEVICES = ("raspi4", "pixel3", "eyeriss", "fpga", "jetson-tx2", "edgetpu")
MODELS = ("kernel", "gcn", "mlp", "flops")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default=",".join(DEVICES))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--gcn-devices", default="edgetpu",
                        help="devices to train gcn on ('all': every device of --devices); gcn is slow on a shared CPU")
    parser.add_argument("--train-size", type=int, default=900)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="kernel predictor option, repeatable (e.g. --set regressor=gbr)")
    parser.add_argument("--cross-space", type=int, default=0, metavar="N",
                        help="also (c): N sampled FBNet networks, kernel trained on blocks / NB201 + blocks / NB201")
    parser.add_argument("--out", default="runs/kernel_predictor/kernel_predictor.json")
    args = parser.parse_args()

    import torch

    from hwnas.predictors import train_predictor

    torch.set_num_threads(args.threads)
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    gcn_devices = devices if args.gcn_devices == "all" else [d.strip() for d in args.gcn_devices.split(",")]
    kernel_opts = dict(item.split("=", 1) for item in args.sets)
    results: dict = {"command": "python bench/kernel_predictor.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "sets" and v not in (None, False, []))
        + "".join(f" --set {s}" for s in args.sets),
        "machine": {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "torch_threads": args.threads}, "devices": {}}
    rows = []
    for device in devices:
        recs = {}
        for model in models:
            if model == "gcn" and device not in gcn_devices:
                continue
            extra = {"rules_device": device, **kernel_opts} if model == "kernel" else {}
            start = time.perf_counter()
            r = train_predictor(device, "latency", model, args.train_size, args.seed, baseline=False, **extra)
            rec = r.summary()
            rec["wall_s"] = round(time.perf_counter() - start, 1)
            if model == "kernel":
                p = r.predictor
                rec["kernel"] = {"rules": p.rules.name, "types": list(p.type_names), "overhead": p.overhead,
                                 "init": getattr(p, "init_used", None), "history": p.history,
                                 "unseen_kernels_in_test": p.last_unseen}
            recs[model] = rec
            print(f"{device} {model}: Spearman {r.metrics.spearman:.4f}, +-10 % {r.metrics.acc10_pct:.1f} %, "
                  f"fit {r.fit_s:.1f} s, {rec['wall_s']} s in all (test {r.test_size:,})", flush=True)
        results["devices"][device] = recs
        test_n = next(iter(recs.values()))["test_size"] if recs else 0
        cells = []
        for model in models:
            m = recs.get(model, {}).get("metrics")
            cells.append(f"{m['spearman']:.4f} / {m['acc10_pct']:.1f}" if m else "not run")
        rows.append(f"| {device} ({test_n:,}) | " + " | ".join(cells) + " |")
    text = (f"NB201 latency, train {args.train_size} (seed {args.seed}), test every other measured architecture; "
            "cells: Spearman / % within +-10 %\n\n| device (test archs) | " + " | ".join(models) + " |\n|---|"
            + "---|" * len(models) + "\n" + "\n".join(rows))
    if args.cross_space:
        results["cross_space"], cross = _cross_space(devices, args, kernel_opts)
        text += "\n\n" + cross
    print("\n" + text)
    results["markdown"] = text
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(f"\nwrote {out}")


def _cross_space(devices, args, kernel_opts) -> tuple[dict, str]:
    import numpy as np

    from hwnas.devices.fbnet import LUT_DEVICE, fbnet_costs
    from hwnas.predictors import get_predictor
    from hwnas.predictors.kernel_blocks import fbnet_block_rows, network_graph
    from hwnas.predictors.metrics import compute_metrics
    from hwnas.predictors.train import measured_targets, split_indices
    from hwnas.spaces import get_space

    fb = get_space("fbnet")
    archs = fb.sample(np.random.default_rng(args.seed), args.cross_space)
    start = time.perf_counter()
    fb_graphs = [network_graph("fbnet", a, "cifar100") for a in archs]
    print(f"FBNet graphs: {len(fb_graphs)} in {time.perf_counter() - start:.0f} s", flush=True)
    nb = get_space("nb201")
    out, rows = {}, []
    for device in [d for d in devices if d in LUT_DEVICE]:
        truth = fbnet_costs(np.array([a.genotype for a in archs]), device, "latency", "cifar100")
        blocks, block_y, _ = fbnet_block_rows(device, "latency", "cifar100")
        values, _ = measured_targets("nb201", device, "latency", "cifar10")
        measured = np.flatnonzero(np.isfinite(values))
        from hwnas.devices import get_device

        if get_device(device).class_level:
            from hwnas.devices.costs import class_first_index

            measured = measured[class_first_index()[measured] == measured]
        train, _ = split_indices(measured, args.train_size, args.seed)
        pred = get_predictor("kernel", rules_device=device, seed=args.seed, **kernel_opts)
        nb_graphs = pred.graphs([nb.arch_at(int(i)) for i in train])
        rec = {}
        for label, fit in (("blocks", dict(graphs=[], targets=[], block_graphs=blocks, block_targets=block_y)),
                           ("nb201+blocks", dict(graphs=nb_graphs, targets=values[train], block_graphs=blocks,
                                                 block_targets=block_y)),
                           ("nb201", dict(graphs=nb_graphs, targets=values[train]))):
            # a block measured alone sits in another graph context than inside a network: the
            # models that learn from blocks describe a kernel by itself (context=false)
            opts = {"context": label == "nb201", **kernel_opts}
            model = get_predictor("kernel", rules_device=device, seed=args.seed, **opts)
            model.fit_graphs(**fit)
            p = model.predict_graphs(fb_graphs)
            m = compute_metrics(p, truth)
            rec[label] = {**m.as_dict(), "unseen_kernels": model.last_unseen, "blocks": len(blocks)}
        out[device] = rec
        rows.append(f"| {device} | " + " | ".join(f"{rec[k]['spearman']:.4f} / {rec[k]['acc10_pct']:.1f}"
                                                 for k in ("blocks", "nb201+blocks", "nb201")) + " |")
        print(rows[-1], flush=True)
    text = (f"(c) cross-space: {len(archs)} random FBNet networks (CIFAR-100 skeleton, seed {args.seed}), truth = "
            "HW-NAS-Bench's FBNet block-table sum; kernel model trained on ...; cells: Spearman / % within +-10 %\n\n"
            "| device | FBNet blocks only | NB201 900 + blocks | NB201 900 only |\n|---|---|---|---|\n" + "\n".join(rows))
    return out, text


if __name__ == "__main__":
    main()
