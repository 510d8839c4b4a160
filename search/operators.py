"""Integer-aware pymoo operators for a space's genotype (no float rounded after the fact).

* `IntegerSampling`           -- uniform integers within the space's bounds;
* `UniformIntegerCrossover`   -- each variable from either parent with probability 1/2;
* `RandomResetMutation`       -- each variable, with probability ``prob_var`` (default 1/n_var),
  replaced by a *different* value drawn uniformly from its range;
* `CanonicalRepair`           -- every genotype replaced by its isomorphism class's
  representative (`Space.canonical`), so equal keys mean equal genotypes;
* `KeyDuplicateElimination`   -- drops offspring whose canonical key is already present.
"""

from __future__ import annotations

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.duplicate import DuplicateElimination
from pymoo.core.mutation import Mutation
from pymoo.core.repair import Repair
from pymoo.core.sampling import Sampling

from hwnas.spaces.base import Space


def _bounds(problem) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(problem.xl, dtype=np.int64), np.asarray(problem.xu, dtype=np.int64)


class IntegerSampling(Sampling):
    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        lo, hi = _bounds(problem)
        return random_state.integers(lo, hi + 1, size=(n_samples, problem.n_var)).astype(np.int64)


class UniformIntegerCrossover(Crossover):
    def __init__(self, prob: float = 0.9, **kwargs) -> None:
        super().__init__(2, 2, prob=prob, **kwargs)

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        X = np.asarray(X, dtype=np.int64)
        _, n_matings, n_var = X.shape
        swap = random_state.random((n_matings, n_var)) < 0.5
        out = np.copy(X)
        out[0][swap], out[1][swap] = X[1][swap], X[0][swap]
        return out


class RandomResetMutation(Mutation):
    def _do(self, problem, X, *args, random_state=None, **kwargs):
        X = np.asarray(X, dtype=np.int64).copy()
        lo, hi = _bounds(problem)
        p = np.asarray(self.get_prob_var(problem, size=len(X)), dtype=np.float64).reshape(-1, 1)
        hit = random_state.random(X.shape) < p
        span = hi - lo  # number of OTHER values each variable can take
        shift = random_state.integers(1, np.maximum(span, 1) + 1, size=X.shape)
        moved = lo + (X - lo + shift) % (span + 1)
        X[hit & (span > 0)] = moved[hit & (span > 0)]
        return X


class CanonicalRepair(Repair):
    def __init__(self, space: Space) -> None:
        super().__init__()
        self.space = space

    def _do(self, problem, X, **kwargs):
        X = np.asarray(X, dtype=np.int64)
        return np.array([self.space.canonical(self.space.from_genotype(x)).genotype for x in X], dtype=np.int64)


class KeyDuplicateElimination(DuplicateElimination):
    """Duplicates by canonical key, within the offspring, against the population, and against
    ``history`` (keys evaluated earlier in the run, kept up to date by the caller) so that no
    architecture is proposed twice."""

    def __init__(self, space: Space, history: "set[str] | None" = None) -> None:
        super().__init__()
        self.space = space
        self.history = history if history is not None else set()

    def _key(self, x) -> str:
        return self.space.key(self.space.from_genotype(x))

    def _do(self, pop, other, is_duplicate):
        seen: set[str] = set(self.history)
        if other is not None:
            seen.update(self._key(x) for x in other.get("X"))
        for i, x in enumerate(pop.get("X")):
            k = self._key(x)
            if k in seen:
                is_duplicate[i] = True
            else:
                seen.add(k)
        return is_duplicate
