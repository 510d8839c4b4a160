"""AZ-NAS evolutionary search (Algorithm 1 of Lee & Ham, CVPR 2024), within budgets.

    F_1 <- a random architecture within the budgets
    for i = 1..T:  score F_i; append it to the history; rank the whole history (AZ-NAS Eq. 12
                   aggregate, or the proxy itself); F_{i+1} <- a mutation of one of the top-k
                   architectures of the history, within the budgets, not evaluated before
    return the best-scoring architecture of the history

One architecture is scored per step, so T = ``--evaluations``. A mutation changes one genotype
variable to another value (two or more when every single change of the drawn parent has been
evaluated or breaks a budget). Candidates are priced *before* they are scored (costs are a
table or block look-up), so no proxy time goes to an architecture over budget. The parent is
drawn uniformly from the top k (``--pop-size``) feasible architectures by score. Deterministic
under the seed.
"""

from __future__ import annotations

import numpy as np

MAX_TRIES = 400  # mutations tried per step before widening the mutation / giving up


def _feasible_id(state, rng: np.random.Generator, genotype: np.ndarray) -> "int | None":
    """The run id of ``genotype``'s canonical representative when it is new and within budget."""
    catalog = state.scorer.catalog
    i = catalog.ids_of_genotypes(genotype[None, :])[0]
    if state.scorer.key(i) in state.keys:
        return None
    return i if bool(state.feasible([i])[0]) else None


def initial(state, rng: np.random.Generator, tries: int = 2000) -> "int | None":
    """F_1: the first uniformly drawn architecture within the budgets (None if none in ``tries``)."""
    lo, hi = state.space.genotype_bounds
    for _ in range(tries):
        g = rng.integers(lo, hi + 1)
        i = _feasible_id(state, rng, g)
        if i is not None:
            return i
    return None


def mutate(state, rng: np.random.Generator, parent: np.ndarray) -> "int | None":
    """A new architecture within budget, ``parent`` with 1 (then 2, 3) variables changed."""
    lo, hi = state.space.genotype_bounds
    n = len(lo)
    for changes in (1, 2, 3):
        for _ in range(MAX_TRIES // 3):
            g = parent.copy()
            for j in rng.choice(n, size=min(changes, n), replace=False):
                span = int(hi[j] - lo[j])
                if span > 0:
                    g[j] = lo[j] + (g[j] - lo[j] + rng.integers(1, span + 1)) % (span + 1)
            i = _feasible_id(state, rng, g)
            if i is not None:
                return i
    return None


def top_k(state, k: int) -> np.ndarray:
    """Positions (evaluation order) of the k best-scoring feasible, non-excluded architectures."""
    order = np.asarray(state.order, dtype=np.int64)
    ok = np.flatnonzero(state.feasible(order) & ~state.excluded_mask(order))
    if ok.size == 0:
        return ok
    s = state.scores()[ok]
    s = np.where(np.isfinite(s), s, -np.inf)
    best = np.lexsort((order[ok], -s))[:k]
    return ok[best]


def run_evolution(state, seed: int, k: int, steps: int, on_step=None) -> int:
    """Run Algorithm 1 for ``steps`` evaluations in total (counting those ``state`` already holds,
    so a resumed run replays to the same end). Returns the number of evaluations."""
    rng = np.random.default_rng([int(seed), 0xA2])
    catalog = state.scorer.catalog
    if state.n == 0:
        first = initial(state, rng)
        if first is None:
            return 0
        state.add([first])
        if on_step:
            on_step()
    while state.n < steps:
        parents = top_k(state, k)
        if parents.size == 0:
            first = initial(state, rng)
            if first is None:
                break
            state.add([first])
        else:
            parent = catalog.genotypes([state.order[int(parents[rng.integers(parents.size)])]])[0]
            child = mutate(state, rng, parent)
            if child is None:
                break
            state.add([child])
        if on_step:
            on_step()
    return state.n
