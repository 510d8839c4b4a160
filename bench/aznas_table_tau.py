"""Kendall tau / Spearman of AZ-NAS (Eq. 12 of its four components) against real NB201 test
accuracy, from the shipped class score table (seed 0; batch size per dataset): every
architecture takes its isomorphism-class representative's scores. Over all 15,625 and over the
fixed 1,000 sample.

    python bench/aznas_table_tau.py
"""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau, spearmanr

from hwnas.eval import fixed_sample, load_ground_truth
from hwnas.proxies.aggregate import nonlinear_rank_aggregate
from hwnas.proxies.table import shipped_scores, table_batch_size, table_info
from hwnas.spaces.nb201 import representative_indices


def main() -> None:
    info = table_info()
    rep = representative_indices()
    print(f"table: proxies {info['proxies']}, seed {info['seed']}")
    print("| dataset | batch | tau (all 15,625) | rho (all) | tau (1,000 sample, seed 0) | rho (sample) |")
    print("|---|---|---|---|---|---|")
    for ds in info["datasets"]:
        batch = table_batch_size(ds)
        t = shipped_scores("nb201", ds, tuple(info["proxies"]), info["seed"], batch)
        cols = {c: np.array([t[int(r)][c] for r in rep]) for c in info["columns"]}
        acc = load_ground_truth(ds)
        cells = []
        for idx in (np.arange(rep.size), np.array(fixed_sample(1000, 0))):
            s = nonlinear_rank_aggregate({c: v[idx] for c, v in cols.items()})
            cells += [f"{kendalltau(s, acc[idx])[0]:.3f}", f"{spearmanr(s, acc[idx])[0]:.3f}"]
        print(f"| {ds} | {batch} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
