"""Cross-check hwnas's proxy scores against third-party scores of the same NB-201 architectures.

* NAS-Bench-Suite-Zero (NASLib, ``nb201/proxies_naslib_partial.csv``, ~724 architectures per
  dataset): Spearman rho between our score and theirs for every shared proxy -- params, flops,
  synflow, snip, grad_norm, fisher, grasp, jacob_cov (their ``jacov``), naswot (their ``nwot``).
* FreeREA's cached metrics (``nb201/proxies_freerea.csv``, all 15,625): naswot and synflow (their
  ``logsynflow``), on the NASLib architectures and on the fixed sample of ``hwnas eval proxies``.

Beside each rho, Kendall tau of our score and of theirs against NB-201 test accuracy on the same
architectures, so a gap can be read: the data-dependent proxies differ by construction (NASLib
and FreeREA fed real images and labels; hwnas feeds Gaussian images and random labels, with
Kaiming-normal init, BN in training mode), params and flops must agree exactly, synflow is data-
free and should agree up to the initialisation. Non-finite scores rank last on both sides.

Scores come from (and go into) the score cache of `hwnas.eval`, with the same key as ``hwnas eval
proxies`` (seed, batch size, dataset, version, device), so nothing is computed twice.

    python bench/proxies_crosscheck.py [--limit 20] [--datasets cifar10,cifar100,imagenet16-120]
        [--seed 0] [--batch-size 64] [--cache runs/cache/scores.sqlite] [--freerea-sample 1000]
        [--out runs/crosscheck/proxies_crosscheck.json] [--threads N] [--no-progress]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from hwnas import eval as ev
from hwnas.data import data_file
from hwnas.proxies import rank_ascending

NASLIB_FILE = "nb201/proxies_naslib_partial.csv"
FREEREA_FILE = "nb201/proxies_freerea.csv"
NASLIB_DATASET = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16-120"}
NASLIB_OF = {  # our proxy -> their column
    "params": "params", "flops": "flops", "synflow": "synflow", "snip": "snip", "grad_norm": "grad_norm",
    "fisher": "fisher", "grasp": "grasp", "jacob_cov": "jacov", "naswot": "nwot",
}
FREEREA_PREFIX = {"cifar10": "c10", "cifar100": "c100", "imagenet16-120": "in16"}
FREEREA_OF = {"naswot": "naswot", "synflow": "logsynflow"}


def _float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def read_naslib() -> dict[str, dict[int, dict[str, str]]]:
    """{dataset: {NB-201 index: row}} of the NASLib file."""
    out: dict[str, dict[int, dict[str, str]]] = {}
    with open(data_file(NASLIB_FILE), newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(NASLIB_DATASET[row["dataset"]], {})[int(row["nb201_index"])] = row
    return out


def read_freerea() -> dict[str, dict[str, np.ndarray]]:
    """{dataset: {our proxy: their scores of all 15,625 architectures, by NB-201 index}}."""
    with open(data_file(FREEREA_FILE), newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, dict[str, np.ndarray]] = {}
    for ds, prefix in FREEREA_PREFIX.items():
        out[ds] = {}
        for ours, theirs in FREEREA_OF.items():
            values = np.full(ev.NB201_SIZE, np.nan)
            for r in rows:
                values[int(r["nb201_index"])] = _float(r[f"{prefix}_{theirs}"])
            out[ds][ours] = values
    return out


def compare(ours: np.ndarray, theirs: np.ndarray, accuracy: np.ndarray) -> dict[str, float]:
    """Spearman of our vs their scores (both ranked with non-finite last; and on the architectures
    where both are finite), and each side's Kendall tau against test accuracy."""
    rho = ev.rank_correlations(ours, rank_ascending(theirs))[1]
    finite = np.isfinite(ours) & np.isfinite(theirs)
    return {
        "n": int(ours.size),
        "spearman_ours_vs_theirs": rho,
        "spearman_both_finite": ev.rank_correlations(ours[finite], theirs[finite])[1],
        "n_both_finite": int(finite.sum()),
        "kendall_ours_vs_test": ev.rank_correlations(ours, accuracy)[0],
        "kendall_theirs_vs_test": ev.rank_correlations(theirs, accuracy)[0],
        "ours_non_finite": int(np.sum(~np.isfinite(ours))),
        "theirs_non_finite": int(np.sum(~np.isfinite(theirs))),
    }


def _clean(x: object) -> object:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    return x


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="cifar10,cifar100,imagenet16-120")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N NASLib architectures per dataset (NB-201 index order)")
    parser.add_argument("--proxies", default=",".join(NASLIB_OF),
                        help="subset of the shared proxies to compare (default: all of them)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cache", default=str(ev.DEFAULT_CACHE))
    parser.add_argument("--freerea-sample", type=int, default=1000,
                        help="also compare naswot/synflow with FreeREA on fixed_sample(N, seed); 0 = skip")
    parser.add_argument("--device", default="cpu", choices=ev.DEVICES)
    parser.add_argument("--out", default="runs/crosscheck/proxies_crosscheck.json")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from rich.console import Console
    from rich.table import Table

    console = Console()
    start = time.perf_counter()
    datasets = [ev.canonical_dataset(d) for d in args.datasets.split(",") if d.strip()]
    chosen = set(ev.parse_request(args.proxies).proxies)
    unknown = chosen - set(NASLIB_OF)
    if unknown:
        parser.error(f"--proxies: {sorted(unknown)} are not in the NASLib file (choose from {', '.join(NASLIB_OF)})")
    compared = {k: v for k, v in NASLIB_OF.items() if k in chosen}
    naslib = read_naslib()
    freerea = read_freerea()
    result: dict[str, object] = {
        "config": {**vars(args), "datasets": datasets, "hwnas_version": ev.version_tag()},
        "naslib": {}, "freerea": {},
    }
    with ev.ScoreCache(args.cache) as cache:
        for ds in datasets:
            rows = naslib[ds]
            indices = sorted(rows)[: args.limit] if args.limit else sorted(rows)
            acc_all = ev.load_ground_truth(ds)
            acc = acc_all[indices]
            evaluation = ev.evaluate_proxies(list(compared), ds, indices, args.seed, args.batch_size, cache,
                                             progress=not args.no_progress, device=args.device)
            per_proxy = {}
            for ours, theirs in compared.items():
                their_scores = np.array([_float(rows[i][theirs]) for i in indices])
                per_proxy[ours] = {"their_column": theirs, **compare(evaluation.columns[ours], their_scores, acc)}
            result["naslib"][ds] = per_proxy  # type: ignore[index]

            fr: dict[str, object] = {}
            sets = [("naslib_archs", indices, ev.evaluate_proxies(  # cached: computed above or in an earlier run
                list(FREEREA_OF), ds, indices, args.seed, args.batch_size, cache, progress=False, device=args.device))]
            if args.freerea_sample:
                sample = ev.fixed_sample(args.freerea_sample, args.seed)
                sets.append((f"fixed_sample_{args.freerea_sample}", sample, ev.evaluate_proxies(
                    list(FREEREA_OF), ds, sample, args.seed, args.batch_size, cache,
                    progress=not args.no_progress, device=args.device)))
            for label, idx, e in sets:
                fr[label] = {ours: {"their_column": f"{FREEREA_PREFIX[ds]}_{theirs}",
                                    **compare(e.columns[ours], freerea[ds][ours][idx], acc_all[idx])}
                             for ours, theirs in FREEREA_OF.items()}
            result["freerea"][ds] = fr  # type: ignore[index]

            table = Table(title=f"{ds}: hwnas vs NAS-Bench-Suite-Zero (NASLib), {len(indices)} archs, "
                                f"seed {args.seed}, batch {args.batch_size}")
            for col in ("proxy", "theirs", "Spearman ours~theirs", "same, both finite", "tau ours~test",
                        "tau theirs~test", "-inf ours/theirs"):
                table.add_column(col, justify="left" if col in ("proxy", "theirs") else "right")
            lines = [(ours, m["their_column"], m) for ours, m in per_proxy.items()]
            lines += [(f"{ours} ({label})", f"FreeREA {m['their_column']}", m)
                      for label, payload in fr.items() for ours, m in payload.items()]  # type: ignore[union-attr]
            for name, theirs, m in lines:
                table.add_row(name, theirs, f"{m['spearman_ours_vs_theirs']:.4f}", f"{m['spearman_both_finite']:.4f}",
                              f"{m['kendall_ours_vs_test']:.3f}", f"{m['kendall_theirs_vs_test']:.3f}",
                              f"{m['ours_non_finite']}/{m['theirs_non_finite']}")
            console.print(table)
    result["seconds"] = round(time.perf_counter() - start, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_clean(result), indent=2))
    console.print(f"wrote {out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    from hwnas.errors import HwnasUsageError

    try:
        sys.exit(main())
    except HwnasUsageError as exc:
        print(f"proxies_crosscheck: error: {exc}", file=sys.stderr)
        sys.exit(2)
