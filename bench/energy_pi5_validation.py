"""How good is hwnas's NB201 energy estimate? Check it where NB201 energy was measured: the Pi 5.

hwnas estimates NB201 energy on Jetson TX2, Eyeriss and the FPGA as (`hwnas.devices.energy`)

    energy [mJ] = scale x exp(a + b ln(FLOPs / latency_ms)) x latency_ms

with (a, b) fitted on the device's FBNet block table and ``scale`` calibrated so that NB201 arch 0
has its one published energy. This script runs the same method on the Raspberry Pi 5 as if its
energy were unknown -- only what the method has on the TX2: the networks' latency (measured, or
predicted by the shipped Pi 5 latency predictor), their FLOPs, one calibration point (arch 0's
measured energy) and a power slope ``b`` transferred from a device with FBNet block energy --
and compares with the measured energy of the 6,466 class representatives (less the 5 whose
output ignores the input): Spearman, MAPE and
the share within +-10 %. Variants:

* ``slope <dev>``: the shipped method with the slope b fitted on <dev>'s FBNet blocks;
* ``constant power``: b = 0 (energy proportional to latency);
* ``any anchor``: the calibration point drawn at random (500 draws): median and 10-90 % range,
  so the figure does not hinge on arch 0 being a typical network.

It also re-runs the FBNet validation of the power model (`energy.fbnet_validation`) and writes
the figures the package quotes in every estimated energy's label (``--ship``:
``hwnas/_data/energy_validation.json``).

    python bench/energy_pi5_validation.py
    python bench/energy_pi5_validation.py --ship     # also update the shipped validation record
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CSV = "pi5/pi5_litert_torchmobile_cifar100.csv"
SHIP = ROOT / "hwnas" / "_data" / "energy_validation.json"


def estimate(latency: np.ndarray, flops: np.ndarray, slope: float, anchor: int) -> np.ndarray:
    """The power model's energy shape, in ms: latency x (intensity / intensity at row ``anchor``)^slope.
    Multiplied by the anchor's true energy / its own shape value, it is the estimate calibrated there."""
    intensity = flops / latency
    return (intensity / intensity[anchor]) ** slope * latency


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=500, help="random calibration points for 'any anchor'")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="bench/results/energy_pi5_validation.json")
    ap.add_argument("--ship", action="store_true", help=f"also write {SHIP.relative_to(ROOT)}")
    args = ap.parse_args(argv)

    import pandas as pd

    from hwnas.data import find_data_dir
    from hwnas.devices import energy as E
    from hwnas.predictors.pretrained import load_pretrained
    from hwnas.spaces.nb201 import cost_arrays

    root = find_data_dir()
    if root is None or not (root / CSV).is_file():
        print(f"error: {CSV} not found (set HWNAS_DATA_DIR)", file=sys.stderr)
        return 2
    table = pd.read_csv(root / CSV)
    from hwnas.search.problem import output_ignores_input
    from hwnas.spaces import get_space

    sp = get_space("nb201")
    reps = table[table["measured_as_index"] == table["nb201_index"]]
    live = [not output_ignores_input(sp.arch_at(int(i)).genotype) for i in reps["nb201_index"]]
    reps = reps[live].reset_index(drop=True)  # cells whose output ignores the input never reach a front
    idx = reps["nb201_index"].to_numpy(np.int64)
    flops = cost_arrays("cifar100")[1][idx].astype(np.float64)
    anchor = int(np.flatnonzero(idx == 0)[0])
    rng = np.random.default_rng(args.seed)
    draws = rng.choice(len(idx), size=args.draws, replace=False)
    slopes = {f"slope {d} (b={E.fit_power_model(d).slope:.3f})": E.fit_power_model(d).slope for d in E.ENERGY_DEVICES}
    slopes["constant power (b=0)"] = 0.0
    results: dict = {"protocol": f"{len(idx):,} Pi 5 class representatives whose output depends on the input, "
                                 f"CIFAR-100 networks; calibration at arch 0 unless 'any anchor'", "runtimes": {}}
    rows = []
    for runtime in ("litert", "torchmobile"):
        true_e = reps[f"{runtime}_energy_mj"].to_numpy(np.float64)
        lat_measured = reps[f"{runtime}_latency_ms"].to_numpy(np.float64)
        lat_pred = load_pretrained(f"pi5-{runtime}", "latency").predict(idx.tolist())
        out = {}
        for lat_name, lat in (("measured latency", lat_measured), ("predicted latency", lat_pred)):
            for name, b in slopes.items():
                shape = estimate(lat, flops, b, anchor)
                s = E.scores(shape * true_e[anchor] / shape[anchor], true_e)
                any_mape, any_w10 = [], []
                for k in draws:
                    shape_k = estimate(lat, flops, b, int(k))
                    sk = E.scores(shape_k * true_e[k] / shape_k[k], true_e)
                    any_mape.append(sk.mape)
                    any_w10.append(sk.within10)
                rec = {"spearman": s.spearman, "mape_pct": s.mape, "within10_pct": s.within10,
                       "any_anchor_mape_pct": np.percentile(any_mape, [10, 50, 90]).tolist(),
                       "any_anchor_within10_pct": np.percentile(any_w10, [10, 50, 90]).tolist()}
                out[f"{lat_name} / {name}"] = rec
                rows.append(f"| {runtime} | {lat_name} | {name} | {s.spearman:.4f} | {s.mape:.1f} | {s.within10:.1f} | "
                            f"{rec['any_anchor_mape_pct'][1]:.1f} ({rec['any_anchor_mape_pct'][0]:.1f}-"
                            f"{rec['any_anchor_mape_pct'][2]:.1f}) | {rec['any_anchor_within10_pct'][1]:.1f} "
                            f"({rec['any_anchor_within10_pct'][0]:.1f}-{rec['any_anchor_within10_pct'][2]:.1f}) |")
        results["runtimes"][runtime] = out
    print("| runtime | latency used | power model | Spearman | MAPE % | +-10 % | any anchor: MAPE % median (10-90) "
          "| any anchor: +-10 % median (10-90) |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    fb = {}
    print("\nFBNet validation of the power model (5,000 CIFAR-100 FBNet networks, true latency, uncalibrated):")
    print("| device | model Spearman | model MAPE % | constant power (anchor) Spearman | constant MAPE % |")
    print("|---|---|---|---|---|")
    for d in E.ENERGY_DEVICES:
        v = E.fbnet_validation(d)
        fb[d] = {k: {"spearman": s.spearman, "mape_pct": s.mape, "within10_pct": s.within10} for k, s in v.items()}
        print(f"| {d} | {v['model'].spearman:.4f} | {v['model'].mape:.1f} | {v['constant_anchor'].spearman:.4f} | "
              f"{v['constant_anchor'].mape:.1f} |")
    results["fbnet"] = fb
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    if args.ship:
        key = "measured latency / slope jetson-tx2 (b={:.3f})".format(E.fit_power_model("jetson-tx2").slope)
        keyp = key.replace("measured latency", "predicted latency")
        shipped = {
            "built_by": "bench/energy_pi5_validation.py --ship",
            "what": "the NB201 energy estimate run on the Raspberry Pi 5 as if its energy were unknown (TX2 power "
                    "slope, one calibration point, the networks' latency), against its measured energy",
            "n": len(idx),
            "runtimes": {rt: {"measured_latency": results["runtimes"][rt][key],
                              "predicted_latency": results["runtimes"][rt][keyp]} for rt in ("litert", "torchmobile")},
        }
        SHIP.write_text(json.dumps(shipped, indent=1) + "\n")
        print(f"wrote {SHIP}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
