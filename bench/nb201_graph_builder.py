"""Check the node-by-node NB201 ONNX builder against the TorchScript export on random
architectures, and time both.

For N random NB201 architectures (seed), each on one of the three datasets in turn, it extracts
the graph of the exported file (`export_graph(..., via="torch")`) and of the built model
(``via="builder"``) and counts the architectures whose op types, features, edges or node names
differ anywhere. Prints the count and the median seconds per architecture of each path.

    python bench/nb201_graph_builder.py --archs 300 --seed 0 --threads 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="also write the result as JSON")
    args = parser.parse_args()

    import numpy as np
    import torch

    from hwnas.predictors.graphs import export_graph
    from hwnas.spaces import get_space

    torch.set_num_threads(args.threads)
    space = get_space("nb201")
    archs = space.sample(np.random.default_rng(args.seed), args.archs)
    datasets = ("cifar10", "cifar100", "imagenet16-120")
    times = {"torch": [], "builder": []}
    mismatches = []
    for i, arch in enumerate(archs):
        dataset = datasets[i % 3]
        graphs = {}
        for via in times:
            t = time.perf_counter()
            graphs[via] = export_graph("nb201", arch, dataset, via=via)
            times[via].append(time.perf_counter() - t)
        fields = graphs["torch"].differing_fields(graphs["builder"])
        if fields:
            mismatches.append({"arch": space.index(arch), "dataset": dataset, "fields": fields})
    result = {
        "archs": len(archs), "seed": args.seed, "mismatches": len(mismatches), "mismatched": mismatches[:20],
        "median_s_torch": statistics.median(times["torch"]), "median_s_builder": statistics.median(times["builder"]),
    }
    result["speedup"] = result["median_s_torch"] / result["median_s_builder"]
    print(f"{len(archs)} archs: {len(mismatches)} differ; median s/arch torch {result['median_s_torch']:.3f}, "
          f"builder {result['median_s_builder']:.4f} ({result['speedup']:.1f}x)")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
