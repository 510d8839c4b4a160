"""Precomputed proxy scores shipped with the package (``hwnas/_data/nb201_scores.npz``).

The table holds, for every NAS-Bench-201 isomorphism class (its representative,
`NB201Space.canonical`) and dataset, the score columns of one proxy setting (proxies, seed,
batch size; the batch size may differ per dataset), exactly as `hwnas.eval.score_architecture`
computes them on the CPU. A dataset may also hold the same columns at further batch sizes
(arrays ``<dataset>@<batch>/<column>``, listed in ``extra_batch_sizes_by_dataset``); its first
batch size (`table_batch_size`) is the one a search uses by default. It is a cache warmed at
build time by ``scripts/score_nb201_classes.py`` + ``scripts/build_score_table.py``;
``tests/test_score_table.py`` recomputes entries live and compares. A search uses it only when
its setting matches; everything else is computed.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np

from hwnas.errors import HwnasUsageError

TABLE = "nb201_scores"


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, np.ndarray], dict] | None:
    root = resources.files("hwnas._data")
    npz, meta = root.joinpath(TABLE + ".npz"), root.joinpath(TABLE + ".json")
    if not (npz.is_file() and meta.is_file()):
        return None
    with npz.open("rb") as fh:
        data = np.load(fh, allow_pickle=False)
        arrays = {k: data[k] for k in data.files}
    return arrays, json.loads(meta.read_text())


def table_info() -> dict | None:
    """The table's JSON record (setting, datasets, versions, command), or None if not shipped."""
    t = _table()
    return None if t is None else dict(t[1])


def table_batch_size(dataset: str) -> int | None:
    """Default probe batch size of the shipped scores for ``dataset`` (None: no table, or no
    scores for it): the batch size a search on ``dataset`` uses unless told otherwise."""
    t = _table()
    if t is None or dataset not in t[1]["datasets"]:
        return None
    meta = t[1]
    return int(meta.get("batch_size_by_dataset", {}).get(dataset, meta["batch_size"]))


def table_batch_sizes(dataset: str) -> tuple[int, ...]:
    """Every probe batch size the shipped table holds ``dataset`` at, the default first (empty:
    no table, or no scores for it)."""
    first = table_batch_size(dataset)
    if first is None:
        return ()
    extra = _table()[1].get("extra_batch_sizes_by_dataset", {}).get(dataset, [])
    return (first, *(int(b) for b in extra if int(b) != first))


def array_prefix(dataset: str, batch_size: int, default_batch_size: int) -> str:
    """Name prefix of the table's arrays for ``dataset`` at ``batch_size``: the dataset itself at
    its default batch size, ``<dataset>@<batch>`` at an extra one (also the key of its entries in
    ``representatives_scored`` and ``median_ms_per_arch_1_thread``)."""
    return dataset if int(batch_size) == int(default_batch_size) else f"{dataset}@{int(batch_size)}"


def _prefix(dataset: str, batch_size: int) -> str | None:
    """`array_prefix` of ``dataset`` at ``batch_size`` in the shipped table (None: not in it)."""
    sizes = table_batch_sizes(dataset)
    return array_prefix(dataset, batch_size, sizes[0]) if int(batch_size) in sizes else None


def shipped_columns(space: str, dataset: str, proxies: tuple[str, ...], seed: int,
                    batch_size: int) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """(the representatives the table scored, ascending; {column: their scores, in that order})
    for this setting, or None when the package ships no table for it: `shipped_scores` as
    arrays."""
    from hwnas.eval import outputs_of

    t = _table()
    if t is None or space != "nb201":
        return None
    arrays, meta = t
    prefix = _prefix(dataset, batch_size)
    if not proxies or int(meta["seed"]) != int(seed) or prefix is None:
        return None
    try:
        wanted = [c for p in proxies for c in outputs_of(p)]
    except (KeyError, ValueError, HwnasUsageError):  # not a registered proxy (a learned one): not in the table
        return None
    if not set(wanted) <= set(meta["columns"]):
        return None
    present = arrays[f"{prefix}/present"]
    reps = arrays["representatives"][present]
    return reps, {c: arrays[f"{prefix}/{c}"][present] for c in wanted}


def shipped_scores(space: str, dataset: str, proxies: tuple[str, ...], seed: int,
                   batch_size: int) -> dict[int, dict[str, float]] | None:
    """{representative NB201 index: {column: score}} for this setting, or None when the package
    ships no table for it. The table serves any request whose proxies' output columns it holds
    (``az_nas`` alone from a table of ``az_nas`` and ``synflow``; ``az_expressivity``, one of
    AZ-NAS's components, from the ``az_nas`` columns): a proxy's columns do not depend on which
    other proxies share its call. Rows hold the requested proxies' output columns only."""
    served = shipped_columns(space, dataset, proxies, seed, batch_size)
    if served is None:
        return None
    reps, cols = served
    return {int(r): {c: float(v[i]) for c, v in cols.items()} for i, r in enumerate(reps)}
