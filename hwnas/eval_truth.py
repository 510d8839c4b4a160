"""NAS-Bench-201 ground truth for ``hwnas eval proxies``: test accuracy of every architecture
(`load_ground_truth`), dataset names (`canonical_dataset`) and the fixed architecture sample
(`fixed_sample`). Accuracy is 200-epoch test accuracy in percent (``c10_test``, ``c100_test``,
``in16_test`` of ``nb201/accuracy.csv``; for CIFAR-100 and ImageNet16-120 the NATS "x-test"
values that papers quote)."""

from __future__ import annotations

import csv
from functools import lru_cache

import numpy as np

from hwnas.errors import HwnasUsageError

NB201_SIZE = 15_625
ACCURACY_FILE = "nb201/accuracy.csv"
GROUND_TRUTH_COLUMNS: dict[str, str] = {
    "cifar10": "c10_test",
    "cifar100": "c100_test",
    "imagenet16-120": "in16_test",
}


def canonical_dataset(dataset: str, space: str = "nb201") -> str:
    """The space's own name of ``dataset`` (aliases such as ``c100`` or ``in16`` resolved)."""
    from hwnas.spaces import get_space

    return get_space(space).dataset(dataset).name


@lru_cache(maxsize=None)
def _ground_truth(dataset: str, path: str) -> np.ndarray:
    column = GROUND_TRUTH_COLUMNS[dataset]
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or column not in reader.fieldnames or "nb201_index" not in reader.fieldnames:
                raise HwnasUsageError(f"{path} has no columns nb201_index and {column}: "
                                      f"is it NAS-Bench-201's accuracy.csv?")
            values = np.full(NB201_SIZE, np.nan)
            seen = np.zeros(NB201_SIZE, dtype=bool)
            for row in reader:
                index = int(row["nb201_index"])
                if not 0 <= index < NB201_SIZE or seen[index]:
                    raise HwnasUsageError(f"{path}: nb201_index {index} is out of range or repeated")
                seen[index] = True
                values[index] = float(row[column])
    except UnicodeDecodeError:
        raise HwnasUsageError(f"{path} is not a text (UTF-8) CSV file: is it NAS-Bench-201's accuracy.csv? "
                              f"(replace it from the data folder)") from None
    except (ValueError, TypeError, csv.Error) as exc:
        if isinstance(exc, HwnasUsageError):
            raise
        raise HwnasUsageError(f"{path} is damaged ({type(exc).__name__}: {' '.join(str(exc).split())}); "
                              f"replace it from the data folder") from None
    except OSError as exc:
        raise HwnasUsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not seen.all() or not np.all(np.isfinite(values)):
        raise HwnasUsageError(f"{path} does not hold a finite {column} for all {NB201_SIZE:,} architectures")
    values.setflags(write=False)
    return values


def load_ground_truth(dataset: str) -> np.ndarray:
    """Test accuracy (%) of all 15,625 NAS-Bench-201 architectures on ``dataset``, float64 array
    indexed by NB-201 index (a read-only array, cached per file).

    ``dataset``: ``cifar10``, ``cifar100`` or ``imagenet16-120`` (or an alias the nb201 space
    accepts), read from the ``c10_test`` / ``c100_test`` / ``in16_test`` column of
    ``nb201/accuracy.csv`` in the data directory (`hwnas.data`); a `HwnasUsageError` naming the
    fix when the file is missing."""
    from hwnas.data import data_file

    name = canonical_dataset(dataset)
    if name not in GROUND_TRUTH_COLUMNS:
        raise HwnasUsageError(f"no ground-truth accuracy for dataset {dataset!r}")
    return _ground_truth(name, str(data_file(ACCURACY_FILE)))


def fixed_sample(n: int, seed: int) -> list[int]:
    """``n`` distinct NAS-Bench-201 indices, sorted: ``numpy.random.default_rng(seed).choice(
    15625, n, replace=False)`` -- the sample of the AZ-NAS reference figures."""
    if not 1 <= int(n) <= NB201_SIZE:
        raise HwnasUsageError(f"sample size must be in 1..{NB201_SIZE}, got {n}")
    check_seed(seed)
    chosen = np.random.default_rng(int(seed)).choice(NB201_SIZE, int(n), replace=False)
    return sorted(int(i) for i in chosen)


def check_seed(seed: object, name: str = "seed") -> int:
    """``seed`` as an int in 0..2**32-1 (what numpy's generators take); a usage error otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise HwnasUsageError(f"{name} must be a whole number from 0 to {2**32 - 1}, got {seed!r}")
    return int(seed)
