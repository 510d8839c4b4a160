"""Score every NAS-Bench-201 isomorphism class (its representative, `NB201Space.canonical`) with
a proxy set, into a score cache: the table behind `hwnas pareto`'s shipped scores and the
pareto-quality benchmark. Resumable (the cache keeps every finished architecture); run one
process per core with --shard i/k.

    python scripts/score_nb201_classes.py --dataset cifar100 --shard 0/2 &
    python scripts/score_nb201_classes.py --dataset cifar100 --shard 1/2 &
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from hwnas.eval import evaluate_proxies
from hwnas.spaces.nb201 import representative_indices


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--proxies", default="az_nas")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--cache", default="runs/cache/scores.sqlite")
    ap.add_argument("--shard", default="0/1", help="i/k: score every k-th class starting at i")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only-identity-cells", action="store_true",
                    help="rescore (overwrite) only the classes whose cell is the identity map: the ones whose "
                         "AZ-NAS trainability changed when identity blocks started to score -inf")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    i, k = (int(v) for v in args.shard.split("/"))
    reps = np.unique(representative_indices())
    mine = [int(r) for r in reps[i::k]]
    redo: list[str] = []
    if args.only_identity_cells:
        mine = [r for r in mine if identity_cell(r)]
        redo = [args.proxies]
        print(f"{len(mine)} identity-cell classes: {mine}")
    evaluate_proxies(args.proxies, args.dataset, mine, seed=args.seed, batch_size=args.batch_size,
                     cache=args.cache, progress=True, recompute=redo)


def identity_cell(index: int) -> bool:
    """Whether NB201 architecture ``index``'s cell returns its input exactly (BN in training mode)."""
    from hwnas.spaces import get_space
    from hwnas.spaces.nb201_ops import TinyNetwork

    sp = get_space("nb201")
    cell = TinyNetwork(sp.ops(sp.arch_at(int(index))), 10, channels=4, cells_per_stage=1).cells[0].train()
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return bool(torch.equal(cell(x), x))


if __name__ == "__main__":
    main()
