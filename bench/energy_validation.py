"""Validate the NB201 energy model of `hwnas.devices.energy` (FBNet block power x latency).

    python bench/energy_validation.py

Prints markdown tables, per device (jetson-tx2, eyeriss, fpga):

1. the fitted power model and the FBNet blocks it was fitted on;
2. model selection: candidate one-feature power models, ln P = a + b x, scored by leave-one-out
   error of block power and on the 5,000 CIFAR-100 FBNet networks when fitted on the
   ImageNet-skeleton blocks only (none of which the CIFAR-100 networks use);
3. validation on HW-NAS-Bench's 5,000 FBNet networks (HELP's sample; cost = sum of blocks):
   energy predicted from the true latency vs the true energy, model vs constant power;
4. the NB201 arch-0 anchor: how far the uncalibrated model was off, and the calibration scale;
5. the estimated NB201 energy over the archs with measured latency, and its error against
   measured NB201 energy where HW-NAS-Bench's pickle is registered (not in our data).

Everything comes from the tables shipped in hwnas/_data; nothing needs the data directory.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from hwnas.devices import energy
from hwnas.devices.measured import measured_column


def _loo_mape(x: np.ndarray, power: np.ndarray) -> float:
    """Leave-one-out MAPE (%) of block power for ln P = a + b x (x may have 0 columns)."""
    design = np.column_stack([np.ones(len(power)), x]) if x.size else np.ones((len(power), 1))
    y = np.log(power)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    hat = np.einsum("ij,jk,ik->i", design, np.linalg.pinv(design.T @ design), design)
    loo = y - (y - design @ coef) / (1 - hat)  # prediction of each block with it left out
    return float(100 * np.mean(np.abs(np.exp(loo) / power - 1)))


def _features(flops: np.ndarray, macs: np.ndarray, params: np.ndarray, lat: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "ln(FLOPs/ms) [chosen]": np.log(flops / lat),
        "conv+linear MAC share of FLOPs": macs / flops,
        "ln(1 + params/ms)": np.log1p(params / lat),
        "ln FLOPs (extensive)": np.log(flops),
        "ln latency (extensive)": np.log(lat),
    }


def model_selection(device: str) -> list[tuple[str, float, float, float]]:
    """(candidate, block LOO MAPE %, network Spearman, network MAPE %) for each candidate; the
    network figures fit on ImageNet-skeleton blocks and test on the 5,000 CIFAR-100 networks."""
    table = energy.block_table(device)
    uses, _ = energy._fbnet_usage()
    counts = energy._entry_counts()
    lat_n, en_n, _ = energy.fbnet_networks(device)
    net = _features(uses @ counts[:, 0], uses @ counts[:, 1], uses @ counts[:, 2], lat_n)
    blk = _features(table.flops, table.macs, table.params, table.latency_ms)
    img = table.imagenet
    out = [("constant power", _loo_mape(np.zeros((len(table.keys), 0)), table.power_w), np.nan, np.nan)]
    const = np.exp(np.mean(np.log(table.power_w[img])))
    out[0] = (*out[0][:2], float(spearmanr(const * lat_n, en_n).statistic),
              float(100 * np.mean(np.abs(const * lat_n / en_n - 1))))
    for name, x in blk.items():
        b, a = np.polyfit(x[img], np.log(table.power_w[img]), 1)
        pred = np.exp(a + b * net[name]) * lat_n
        out.append((name, _loo_mape(x[:, None], table.power_w), float(spearmanr(pred, en_n).statistic),
                    float(100 * np.mean(np.abs(pred / en_n - 1)))))
    return out


def main() -> None:
    print("## Output of `python bench/energy_validation.py`\n")
    for device in energy.ENERGY_DEVICES:
        model = energy.power_model(device)
        table = energy.block_table(device)
        p = table.power_w
        print(f"### {device}\n")
        print(f"Power model: ln P[W] = {model.intercept:.4f} + {model.slope:.4f} ln(FLOPs/ms), fitted on "
              f"{model.n_blocks} FBNet LUT entries ({int(table.imagenet.sum())} ImageNet-skeleton, "
              f"{int((~table.imagenet).sum())} CIFAR-100-skeleton); block power {p.min():.3f} / "
              f"{np.median(p):.3f} / {p.max():.3f} W (min / median / max). "
              f"Calibration scale {model.scale:.4f}.\n")

        print("Model selection (ln P = a + b x; block LOO = leave-one-out MAPE of block power; network "
              "columns: fitted on ImageNet-skeleton blocks, tested on the 5,000 CIFAR-100 networks):\n")
        print("| feature x | block LOO MAPE | network Spearman | network MAPE |")
        print("|---|---|---|---|")
        for name, loo, rho, mape in model_selection(device):
            print(f"| {name} | {loo:.2f} % | {rho:.4f} | {mape:.2f} % |")
        print()

        print("Validation on the 5,000 FBNet networks (CIFAR-100 skeleton), energy predicted from true "
              "latency, no calibration:\n")
        print("| networks | predictor | fitted on | Spearman | MAPE | within +-10 % |")
        print("|---|---|---|---|---|---|")
        for layers_only, part in ((False, "whole (stem + 22 layers + head)"), (True, "22 searchable layers")):
            for fit_on, fit_label in (("all", "all blocks"), ("imagenet", "ImageNet-skeleton blocks")):
                val = energy.fbnet_validation(device, fit_on, layers_only)
                rows = [("power model", val["model"]), ("constant power = block mean", val["constant_blocks"])]
                if fit_on == "all":
                    rows.append(("constant power = NB201 anchor E/L", val["constant_anchor"]))
                for label, s in rows:
                    fitted = fit_label if label != "constant power = NB201 anchor E/L" else "-"
                    print(f"| {part} | {label} | {fitted} | {s.spearman:.4f} | {s.mape:.2f} % | {s.within10:.1f} % |")
        print()

        a_lat, a_en = energy.ANCHORS[device]
        base = energy.fit_power_model(device)
        flops0 = energy.nb201_flops(np.array([energy.ANCHOR_INDEX]), energy.ANCHOR_DATASET)
        e_model = float(base.energy_mj(flops0, np.array([a_lat]))[0])
        p_const = float(np.exp(np.mean(np.log(p))))
        print(f"Anchor (NB201 arch 0, CIFAR-10, {flops0[0] / 1e6:.2f} MFLOPs): published {a_lat} ms / {a_en} mJ "
              f"= {a_en / a_lat:.3f} W; uncalibrated model {e_model:.3f} mJ ({e_model / a_lat:.3f} W), error "
              f"{100 * energy.anchor_error(device):+.1f} %; constant block-mean power {p_const:.3f} W would be "
              f"{round(100 * (p_const / (a_en / a_lat) - 1), 6) + 0.0:+.1f} % off. Calibrated: "
              f"{float(energy.estimate_energy_mj('nb201', np.array([0]), np.array([a_lat]), device)[0]):.3f} mJ.\n")

        lat = measured_column("nb201", device, "latency")
        idx = np.flatnonzero(np.isfinite(lat))
        en = energy.estimate_energy_mj("nb201", idx, lat[idx], device)
        pw = en / lat[idx]
        ratio = pw / (a_en / a_lat)
        print(f"Estimated NB201 energy over the {len(idx):,} archs with measured latency (CIFAR-10): "
              f"min {en.min():.3f} / median {np.median(en):.3f} / max {en.max():.3f} mJ; power "
              f"{pw.min():.3f} / {np.median(pw):.3f} / {pw.max():.3f} W; Spearman(energy, latency) "
              f"{spearmanr(en, lat[idx]).statistic:.4f}. Ratio to constant power at the anchor's E/L "
              f"({a_en / a_lat:.3f} W x latency): {ratio.min():.3f} / {np.median(ratio):.3f} / {ratio.max():.3f}.\n")

        truth = measured_column("nb201", device, "energy")  # only with HW-NAS-Bench's pickle registered
        both = np.flatnonzero(np.isfinite(truth) & np.isfinite(lat))
        if len(both):
            s = energy.scores(energy.estimate_energy_mj("nb201", both, lat[both], device), truth[both])
            print(f"Against measured NB201 energy (registered HW-NAS-Bench pickle, {s.n:,} archs): Spearman "
                  f"{s.spearman:.4f}, MAPE {s.mape:.2f} %, within +-10 % {s.within10:.1f} %.\n")
        else:
            print("No measured NB201 energy available to score the estimate against (registering HW-NAS-Bench's "
                  "pickle, `hwnas data add-hwnasbench`, would provide it).\n")


if __name__ == "__main__":
    main()
