"""Choose a predictor's hyper-parameters on the training architectures alone: split the issue's
900 training archs (seed 0) into a fit part and a validation part, fit with the given options,
report the metrics on the validation part. The test architectures are never touched.

    python bench/predictor_validation.py --device jetson-tx2 --model gcn --set readout=mean
    python bench/predictor_validation.py --device jetson-tx2 --model gcn --set readout=mean --set hidden=128

(this chose ``readout=mean`` for the jetson-tx2 gcn; docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", required=True)
    parser.add_argument("--metric", default="latency")
    parser.add_argument("--model", default="gcn")
    parser.add_argument("--train-size", type=int, default=900, help="the issue's training set")
    parser.add_argument("--fit-size", type=int, default=720, help="of which fitted on; the rest validates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    import torch

    from hwnas.commands.predictors import _parse_sets
    from hwnas.predictors import get_predictor
    from hwnas.predictors.train import measured_targets, split_indices
    from hwnas.spaces import get_space

    torch.set_num_threads(args.threads)
    from hwnas.errors import HwnasUsageError

    try:
        options = _parse_sets(tuple(args.sets))  # as `hwnas predictors train --set`
    except HwnasUsageError as err:
        parser.error(str(err))
    sp = get_space("nb201")
    values, _ = measured_targets(sp.name, args.device, args.metric, "cifar10")
    train, _test = split_indices(np.flatnonzero(np.isfinite(values)), args.train_size, args.seed)
    fit_idx, val_idx = split_indices(train, args.fit_size, args.seed)
    pred = get_predictor(args.model, space=sp.name, dataset="cifar10", seed=args.seed, **options)
    start = time.perf_counter()
    pred.fit([sp.arch_at(int(i)) for i in fit_idx], values[fit_idx])
    metrics = pred.evaluate([sp.arch_at(int(i)) for i in val_idx], values[val_idx])
    print(json.dumps({"device": args.device, "model": args.model, "options": options, "fit": int(fit_idx.size),
                      "validation": int(val_idx.size), "metrics": metrics.as_dict(),
                      "seconds": round(time.perf_counter() - start, 1)}))


if __name__ == "__main__":
    main()
