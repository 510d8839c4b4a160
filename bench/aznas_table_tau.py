"""Kendall tau / Spearman / top-5 % tau / nDCG@10 of training-free scores over all 15,625 NB201
networks, measured as a user sees them: the score `hwnas pareto --algorithm exhaustive` writes,
i.e. each isomorphism class's columns ranked against every class of the shipped table (AZ-NAS
Eq. 12, `hwnas.search.scoring.objective` with the table as the fixed reference population), each
network taking its class's score, against the real NB201 test accuracy.

    python bench/aznas_table_tau.py

Every aggregate the shipped table can form is reported: AZ-NAS alone; with VKDNW_single or VKDNW
(VKDNW is recovered from VKDNW_single = aleph + VKDNW / (2 log 9), aleph being an integer and VKDNW
in [0, log 9]); the paper's VKDNW_agg (VKDNW_single, jacob_cov, expressivity, trainability and
FLOPs, here AZ-NAS's complexity count); with NASWOT, synflow, FreeREA's LogSynflow
(`synflow_log1p`) and/or jacob_cov. The jacob_cov combinations were picked on the 1,000-network
sample `hwnas.eval.fixed_sample(1000, 0)`; the last column gives tau over the networks outside it.
Top-5 % tau: Kendall tau among the 5 % best networks by accuracy.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from _report import emit


SELECTION_SAMPLE = 1000  # `hwnas.eval.fixed_sample(1000, 0)`: where the jacob_cov combinations were chosen


def _vkdnw(single: np.ndarray) -> np.ndarray:
    """VKDNW from VKDNW_single = aleph + VKDNW / (2 log 9) (aleph an integer, VKDNW in [0, log 9])."""
    finite = np.isfinite(single)  # VKDNW -inf (no spectrum) makes VKDNW_single -inf
    vkdnw = np.full(single.shape, -np.inf)
    vkdnw[finite] = (single[finite] - np.floor(single[finite])) * 2.0 * math.log(9.0)
    return vkdnw


def _cached_columns(paths: list[str], dataset: str, batch: int, seed: int, reps: np.ndarray,
                    columns: list[str]) -> dict[str, np.ndarray]:
    """Those of ``columns`` (the shipped table's) that the class caches hold for all of ``reps``
    at this setting (others are skipped)."""
    from hwnas.eval import CacheKey, ScoreCache, version_tag

    key = CacheKey("nb201", dataset, seed, batch, version_tag(), "cpu")
    found: dict = {}
    for path in paths:
        cache = ScoreCache(path)
        try:
            found.update(cache.lookup(key, reps.tolist(), columns))
        finally:
            cache.close()
    out = {}
    for c in columns:
        if all((int(r), c) in found for r in reps):
            out[c] = np.array([found[(int(r), c)].value for r in reps], dtype=np.float64)
    return out


def candidates(columns: "set[str]") -> dict[str, list[str]]:
    """Score name -> the table columns its rank aggregate reads, for every aggregate the table
    (with VKDNW derived from VKDNW_single) can form."""
    az = ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"]
    out = {"az_nas": az}
    if "vkdnw_single" in columns:
        out |= {"vkdnw": ["vkdnw"], "vkdnw_single": ["vkdnw_single"], "az_nas + vkdnw_single": az + ["vkdnw_single"],
                "az_nas + vkdnw": az + ["vkdnw"]}
    if {"naswot", "synflow"} <= columns:
        out |= {"naswot": ["naswot"], "synflow": ["synflow"], "az_nas + naswot": az + ["naswot"],
                "az_nas + synflow": az + ["synflow"], "az_nas + naswot + synflow": az + ["naswot", "synflow"]}
        if "vkdnw_single" in columns:
            out["az_nas + naswot + synflow + vkdnw_single"] = az + ["naswot", "synflow", "vkdnw_single"]
    if "synflow_log1p" in columns:
        out |= {"synflow_log1p": ["synflow_log1p"], "az_nas + synflow_log1p": az + ["synflow_log1p"]}
        if "naswot" in columns:
            out["az_nas + naswot + synflow_log1p"] = az + ["naswot", "synflow_log1p"]
    if "jacob_cov" in columns:  # VKDNW_agg's extra column; the combinations picked on the 1,000 sample
        out |= {"jacob_cov": ["jacob_cov"], "az_nas + jacob_cov": az + ["jacob_cov"]}
        if {"naswot", "synflow"} <= columns:
            out |= {"az_nas + synflow + jacob_cov": az + ["synflow", "jacob_cov"],
                    "az_nas + synflow_log1p + jacob_cov": az + ["synflow_log1p", "jacob_cov"],
                    "az_nas + naswot + synflow + jacob_cov": az + ["naswot", "synflow", "jacob_cov"]}
            if "synflow_log1p" in columns:
                out["az_nas + naswot + synflow_log1p + jacob_cov"] = az + ["naswot", "synflow_log1p", "jacob_cov"]
        if "vkdnw_single" in columns:  # the paper's VKDNW_agg, its FLOPs being AZ-NAS's complexity count
            out["vkdnw_agg"] = ["vkdnw_single", "jacob_cov", "az_expressivity", "az_trainability", "az_complexity"]
        if "synflow_log1p" in columns:  # VKDNW_agg's columns with LogSynflow for VKDNW
            out["az_expressivity + az_trainability + az_complexity + jacob_cov + synflow_log1p"] = [
                "az_expressivity", "az_trainability", "az_complexity", "jacob_cov", "synflow_log1p"]
    if "meco" in columns:  # MeCo, and the aggregates with it picked by bench/aggregate_regret.py
        out |= {"meco": ["meco"], "az_nas + meco": az + ["meco"],
                "az_nas + synflow_log1p + jacob_cov + meco": az + ["synflow_log1p", "jacob_cov", "meco"],
                "az_trainability + az_complexity + jacob_cov + meco": [
                    "az_trainability", "az_complexity", "jacob_cov", "meco"]}
    if {"swap", "jacob_cov", "meco"} <= columns:  # SWAP, and the aggregate bench/aggregate_regret.py picks
        out |= {"swap": ["swap"], "jacob_cov + meco": ["jacob_cov", "meco"],
                "jacob_cov + meco + swap": ["jacob_cov", "meco", "swap"],
                "az_nas + synflow_log1p + jacob_cov + meco + swap": az + ["synflow_log1p", "jacob_cov", "meco", "swap"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help="also write the table as JSON")
    ap.add_argument("--class-cache", action="append", default=[], metavar="DATASET=BATCH:FILE",
                    help="also score DATASET at probe batch BATCH from class caches that "
                         "scripts/score_nb201_classes.py filled (every class; repeatable), e.g. "
                         "cifar10=64:runs/cache/c10b64_0.sqlite")
    args = ap.parse_args()

    from hwnas.eval import fixed_sample, load_ground_truth
    from hwnas.eval_metrics import ndcg_at_k, rank_correlations, top_fraction
    from hwnas.proxies.table import shipped_columns, table_batch_sizes, table_info
    from hwnas.search.scoring import objective
    from hwnas.spaces.nb201 import representative_indices

    info = table_info()
    rep_of = representative_indices()
    reps = np.unique(rep_of)
    position = np.searchsorted(reps, rep_of)  # network -> its class's row
    outside = np.ones(rep_of.size, dtype=bool)  # the networks the combinations were not picked on
    outside[np.asarray(fixed_sample(SELECTION_SAMPLE, 0))] = False
    lines = ["| dataset | batch | score | tau | rho | top-5 % tau | nDCG@10 | tau outside the 1,000 sample |",
             "|---|---|---|---|---|---|---|---|"]
    rows = []
    settings = [(ds, b, None) for ds in info["datasets"] for b in table_batch_sizes(ds)]
    extra: dict[tuple[str, int], list[str]] = {}
    for item in args.class_cache:
        key, path = item.split(":", 1)
        ds, batch = key.split("=")
        extra.setdefault((ds, int(batch)), []).append(path)
    settings += [(ds, batch, paths) for (ds, batch), paths in extra.items()]
    for ds, batch, paths in settings:
        if paths is None:
            served, cols = shipped_columns("nb201", ds, tuple(info["proxies"]), info["seed"], batch)
            assert np.array_equal(served, reps), f"the table lacks classes of {ds} at batch {batch}"
        else:
            cols = _cached_columns(paths, ds, batch, info["seed"], reps, list(info["columns"]))
        if "vkdnw_single" in cols:
            cols["vkdnw"] = _vkdnw(cols["vkdnw_single"])
        acc = load_ground_truth(ds)
        top = top_fraction(acc)
        for name, names in candidates(set(cols)).items():
            score = objective(cols, names, reference=cols)[position]
            if name == "az_nas":  # the paper's protocol: Eq. 12 ranks among the 15,625 networks
                paper = objective({c: v[position] for c, v in cols.items()}, names)
                tau, rho = rank_correlations(paper, acc)
                rows.append({"dataset": ds, "batch": batch, "score": "az_nas, ranked among all networks (paper)",
                             "tau": tau, "rho": rho})
                lines.append(f"| {ds} | {batch} | az_nas, ranked among all networks (paper's protocol) | {tau:.4f} | "
                             f"{rho:.4f} | | |")
            tau, rho = rank_correlations(score, acc)
            top_tau, _ = rank_correlations(score[top], acc[top])
            ndcg = ndcg_at_k(score, acc)
            tau_out, _ = rank_correlations(score[outside], acc[outside])
            rows.append({"dataset": ds, "batch": batch, "score": name, "tau": tau, "rho": rho, "top5_tau": top_tau,
                         "ndcg10": ndcg, "tau_outside_sample": tau_out})
            lines.append(f"| {ds} | {batch} | {name} | {tau:.4f} | {rho:.4f} | {top_tau:.3f} | {ndcg:.4f} | "
                         f"{tau_out:.4f} |")
    emit(lines, [f"table: proxies {info['proxies']}, seed {info['seed']}; scores ranked against all "
                 f"{reps.size} classes, mapped to all {rep_of.size} networks"], rows, args.out)


if __name__ == "__main__":
    main()
