"""Which NAS-Bench-201 networks to train, so that a learned proxy fitted on them finds the best
network under any budget (`hwnas proxies suggest`).

A search under a budget returns the best-scored network among those that fit it, so what a
learned proxy must get right is the top of the ranking at every cost. The classes whose cell
sees its input (the others never reach a front) are cut into ``strata`` strata of equal size
by FLOPs (AZ-NAS's complexity: multiply-accumulates of the live conv / linear layers, the
shipped table's ``az_complexity`` column, on the dataset's input size), and each stratum
contributes its best-scored classes not labelled yet, in equal shares. The score is a look-up
score: the default training-free aggregate, or, for a second round, a learned proxy fitted on
the first round's labels (its labelled classes are left out). Deterministic: ties go to the
lower index.

Measured with `bench/pareto_quality.py --learned-labels N --label-selection suggest` against
labels drawn at random: docs/benchmarks.md, "Choosing the networks to label".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from hwnas.errors import HwnasUsageError

DEFAULT_STRATA = 10


def cost_strata(cost: np.ndarray, eligible: np.ndarray, strata: int = DEFAULT_STRATA) -> np.ndarray:
    """Stratum (1 = cheapest .. ``strata``) of every entry: the entries of ``eligible`` (a mask)
    sorted by ``cost`` (ties: lower position first) and cut into ``strata`` consecutive strata of
    equal size (sizes differ by at most one, the larger first); 0 for the others."""
    if strata < 1:
        raise ValueError("strata must be at least 1")
    pool = np.flatnonzero(np.asarray(eligible, dtype=bool))
    by_cost = pool[np.argsort(np.asarray(cost, dtype=np.float64)[pool], kind="stable")]
    out = np.zeros(np.asarray(eligible).size, dtype=np.int64)
    for s, members in enumerate(np.array_split(by_cost, strata)):
        out[members] = s + 1
    return out


def stratified_top(score: np.ndarray, cost: np.ndarray, eligible: np.ndarray, count: int,
                   strata: int = DEFAULT_STRATA) -> np.ndarray:
    """Positions of ``count`` eligible entries: stratum s of `cost_strata` gives its
    ``count // strata`` (+1 for the first ``count % strata``) best by ``score`` (larger is
    better, NaN last; ties: lower position first). With ``count`` at most the eligible entries
    no share exceeds its stratum. Returned in stratum order, best first within each."""
    score = np.asarray(score, dtype=np.float64)
    stratum = cost_strata(cost, eligible, strata)
    if count > int((stratum > 0).sum()):
        raise ValueError(f"{count} wanted, {int((stratum > 0).sum())} eligible")
    key = np.where(np.isnan(score), -np.inf, score)
    chosen: list[int] = []
    for s in range(strata):
        members = np.flatnonzero(stratum == s + 1)
        share = count // strata + (1 if s < count % strata else 0)
        best = members[np.lexsort((members, -key[members]))]  # score descending, then position
        chosen += [int(i) for i in best[:share]]
    return np.asarray(chosen, dtype=np.int64)


@dataclass(frozen=True)
class Suggestion:
    """Networks to train next, one per isomorphism class, in stratum order. ``arch``: NB201
    indices (class representatives); ``stratum``: 1 = cheapest; ``macs``: multiply-accumulates
    per image of the live conv / linear layers; ``score``: the ranking score (a learned proxy:
    predicted test accuracy, %; the training-free aggregate: sum of log(rank / 6,466), <= 0)."""

    dataset: str
    proxy: str
    strata: int
    arch: np.ndarray
    arch_str: list[str]
    stratum: np.ndarray
    macs: np.ndarray
    score: np.ndarray
    excluded: int  # labelled classes left out

    def csv_text(self) -> str:
        """``arch,accuracy,arch_str,stratum,macs,score`` with ``accuracy`` left empty: fill it in
        and the file is a ``--labels`` file for ``hwnas proxies fit``."""
        rows = [f"{a},,{s},{st},{int(m)},{sc!r}\n" for a, s, st, m, sc in
                zip(self.arch.tolist(), self.arch_str, self.stratum.tolist(), self.macs.tolist(),
                    self.score.tolist())]
        return "arch,accuracy,arch_str,stratum,macs,score\n" + "".join(rows)


def ranking_score(dataset: str, proxy: str) -> tuple[np.ndarray, np.ndarray]:
    """(class representatives [6,466], their score under ``proxy``): the column itself for one
    score column, else the Eq. 12 aggregate against all classes (as `hwnas pareto` scores them).
    Look-up scores only: the shipped table's proxies at its setting, or learned proxies."""
    from hwnas.eval_request import outputs_of, parse_request
    from hwnas.proxies.learned import served_scores
    from hwnas.proxies.table import table_batch_size, table_info
    from hwnas.spaces.nb201 import representative_indices
    from hwnas.search.scoring import objective

    request = parse_request(str(proxy).replace("+", ","))
    names = tuple(request.proxies)
    reps = np.unique(representative_indices())
    batch = table_batch_size(dataset)
    served = served_scores("nb201", dataset, names, int(table_info()["seed"]), int(batch or 0)) if batch else None
    columns = [c for p in names for c in outputs_of(p)]
    if served is None or len(served) < reps.size or any(c not in served[int(reps[0])] for c in columns):
        raise HwnasUsageError(f"--proxy {proxy}: suggestions rank by look-up scores only; use proxies the shipped "
                              f"score table holds for {dataset} (e.g. the default) or a learned proxy "
                              f"(hwnas proxies fit)")
    cols = {c: np.array([served[int(r)][c] for r in reps], dtype=np.float64) for c in columns}
    return reps, objective(cols, columns, reference=cols)


def sees_input(reps: np.ndarray) -> np.ndarray:
    """Mask over NB201 indices ``reps``: the cell's output depends on its input (the others
    compute a constant and never reach a front)."""
    from hwnas.search.problem import output_ignores_input
    from hwnas.spaces.nb201 import NB201Space

    nb = NB201Space()
    return np.array([not output_ignores_input(nb.arch_at(int(r)).genotype) for r in reps], dtype=bool)


def within_budgets(reps: np.ndarray, dataset: str, device: str | None, budgets: Sequence) -> np.ndarray:
    """Mask over class representatives ``reps``: the class fits every `Budget` in ``budgets`` as
    `hwnas pareto` checks it (its cheapest member on the first budget's cost, each cost's bound
    where a prediction states one; FLOPs / params need no device)."""
    from hwnas.devices.costs import metric_table
    from hwnas.search.problem import cheapest_members

    ok = np.ones(reps.size, dtype=bool)
    if not budgets:
        return ok
    tables = [metric_table("nb201", device, b.metric, dataset) for b in budgets]
    member = cheapest_members(tables[0])[reps]
    for b, t in zip(budgets, tables):
        ok &= t.budget_values()[member] <= b.limit
    return ok


def suggest_labels(dataset: str, count: int, proxy: str | None = None, labelled: Iterable[int] = (),
                   strata: int = DEFAULT_STRATA, space: str = "nb201", device: str | None = None,
                   budgets: Sequence = ()) -> Suggestion:
    """``count`` NB201 networks to train on ``dataset`` (module docstring): ranked by ``proxy``
    (default: `hwnas pareto`'s default score), leaving out the classes of the ``labelled``
    indices and, for a learned proxy, its own labelled classes; with ``budgets`` (`Budget`s,
    on ``device`` for latency / energy) only classes that fit them, as `hwnas pareto` checks."""
    from hwnas.eval_request import parse_request
    from hwnas.proxies.learned import is_learned, labelled_representatives, load_learned
    from hwnas.proxies.table import shipped_columns, table_batch_size, table_info
    from hwnas.spaces import get_space
    from hwnas.search.run import default_proxy
    from hwnas.spaces.nb201 import NB201Space, representative_indices

    sp = get_space(space)
    if sp.name != "nb201":
        raise HwnasUsageError(f"suggestions exist for nb201 only (its score table ships), not {space!r}")
    ds = sp.dataset(dataset).name
    if int(strata) < 1:
        raise HwnasUsageError(f"--strata must be at least 1, got {strata}")
    proxy = default_proxy("nb201") if proxy is None else str(proxy)
    reps, score = ranking_score(ds, proxy)
    rep_of = representative_indices()
    names = parse_request(proxy.replace("+", ",")).proxies
    for p in names:
        fitted_on = load_learned(p).record["dataset"] if is_learned(p) else ds
        if fitted_on != ds:
            raise HwnasUsageError(f"learned proxy {p!r} predicts {fitted_on} accuracy; suggest for "
                                  f"--dataset {fitted_on}, or fit a proxy on {ds} labels")
    done = {int(rep_of[int(i)]) for i in labelled} | labelled_representatives(names)
    nb = NB201Space()
    eligible = sees_input(reps) & ~np.isin(reps, np.fromiter(done, dtype=np.int64, count=len(done)))
    eligible &= within_budgets(reps, ds, device, budgets)
    left = int(eligible.sum())
    if int(count) < 1 or int(count) > left:
        fits = " that fit the budget," if budgets else ""
        raise HwnasUsageError(f"--count {count}: give 1..{left} (the {left} isomorphism classes whose cell sees its "
                              f"input,{fits} and that are not labelled yet)")
    served, cols = shipped_columns("nb201", ds, ("az_nas",), int(table_info()["seed"]), int(table_batch_size(ds)))
    macs = np.asarray(cols["az_complexity"], dtype=np.float64)[np.searchsorted(served, reps)]
    picked = stratified_top(score, macs, eligible, int(count), int(strata))
    return Suggestion(ds, proxy, int(strata), reps[picked], [str(nb.arch_at(int(r))) for r in reps[picked]],
                      cost_strata(macs, eligible, int(strata))[picked], macs[picked], score[picked], len(done))


def labelled_indices(paths: Sequence[str], space: str = "nb201") -> list[int]:
    """NB201 indices named in the ``arch`` column of the CSV files ``paths`` (an accuracy is not
    needed: networks still being trained count as labelled too)."""
    from hwnas.archcsv import arch_values
    from hwnas.proxies.learned import read_label_file

    out: list[int] = []
    for path in paths:
        p, rows = read_label_file(path, ("arch",))
        out += [index for _, index, _, _ in arch_values(p, rows, space, "accuracy")]
    return out
