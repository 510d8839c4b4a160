"""Before/after timing of the batched-products AZ-NAS change. Expressivity's covariance and
trainability's block cross-covariance are sums over samples and positions of a(p) b(p)^T,
`hwnas.proxies.features.position_cross_product`. Before, both tensors were copied into
[N*H*W, C] row matrices and multiplied; after (the current code), per-sample batched products
are summed. Both versions run in one process, interleaved per architecture (the row-matrix
version is patched in where the proxies call the helper), so machine speed cancels out.

    python bench/aznas_ab_rowcopy.py --threads 2 --archs 24

Prints the median ms of each version and the speed-up (docs/benchmarks.md, "Speed").
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def rowcopy_cross_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The earlier form: [N*P, C_a]^T @ [N*P, C_b] on row-matrix copies."""
    rows_a = a.reshape(a.shape[0], a.shape[1], -1).permute(0, 2, 1).reshape(-1, a.shape[1])
    rows_b = b.reshape(b.shape[0], b.shape[1], -1).permute(0, 2, 1).reshape(-1, b.shape[1])
    return rows_a.T @ rows_b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--archs", type=int, default=24, help="first N of the 200-arch reference sample")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import hwnas.proxies.az_nas as az
    import hwnas.proxies.passes as passes
    from hwnas.eval import score_architecture
    from hwnas.proxies.features import position_cross_product

    def use(before: bool) -> None:
        helper = rowcopy_cross_product if before else position_cross_product
        az.position_cross_product = passes.position_cross_product = helper

    def timed(index: int) -> float:
        start = time.perf_counter()
        score_architecture(index, ["az_nas"], "cifar100", batch_size=64)
        return time.perf_counter() - start

    indices = [int(i) for i in np.random.default_rng(0).choice(15625, 200, replace=False)[: args.archs]]
    timed(indices[0])  # warm-up
    times: dict[bool, list[float]] = {True: [], False: []}
    for order in ((True, False), (False, True)):  # each version first once per architecture
        for i in indices:
            for before in order:
                use(before)
                times[before].append(timed(i))
    use(False)
    old, new = np.array(times[True]), np.array(times[False])
    print(f"threads {args.threads}: before {1000 * np.median(old):.0f} ms, after {1000 * np.median(new):.0f} ms, "
          f"median per-call ratio {np.median(old / new):.3f}, total ratio {old.sum() / new.sum():.3f} "
          f"({len(old)} calls each)")


if __name__ == "__main__":
    main()
