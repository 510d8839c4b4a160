"""Search algorithms, by name: pymoo's NSGA-II (default), NSGA-III, AGE-MOEA, SMS-EMOA, plus
``random`` (uniform sampling, the baseline) and ``exhaustive`` (every isomorphism class of a
space small enough to enumerate). All pymoo ones run with the integer operators of
`hwnas.search.operators`, canonical repair and key-based duplicate elimination."""

from __future__ import annotations

from typing import Callable

from hwnas.registry import Registry
from hwnas.spaces.base import Space

ALGORITHMS: Registry[Callable] = Registry("search algorithm")
ENUMERATED = ("exhaustive",)  # not pymoo: handled by the run loop
EVOLUTION = ("az-evolution",)  # AZ-NAS Algorithm 1: not pymoo, handled by `hwnas.search.evolution`
EXHAUSTIVE_LIMIT = 20_000  # classes a space may have for --algorithm exhaustive


def _operators(space: Space, history: set[str]) -> dict:
    from hwnas.search.operators import (CanonicalRepair, IntegerSampling, KeyDuplicateElimination,
                                        RandomResetMutation, UniformIntegerCrossover)

    return dict(sampling=IntegerSampling(), crossover=UniformIntegerCrossover(), mutation=RandomResetMutation(),
                repair=CanonicalRepair(space), eliminate_duplicates=KeyDuplicateElimination(space, history))


@ALGORITHMS.register("nsga2", aliases=("nsga-ii", "nsgaii"))
def nsga2(space: Space, pop_size: int, n_obj: int, history: set[str]):
    """NSGA-II (Deb et al. 2002): non-dominated sorting + crowding distance."""
    from pymoo.algorithms.moo.nsga2 import NSGA2

    return NSGA2(pop_size=pop_size, **_operators(space, history))


@ALGORITHMS.register("nsga3", aliases=("nsga-iii", "nsgaiii"))
def nsga3(space: Space, pop_size: int, n_obj: int, history: set[str]):
    """NSGA-III (Deb & Jain 2014): reference directions (Das-Dennis, at most pop_size of them)."""
    from pymoo.algorithms.moo.nsga3 import NSGA3
    from pymoo.util.ref_dirs import get_reference_directions

    partitions = 1
    while _das_dennis_count(n_obj, partitions + 1) <= pop_size:
        partitions += 1
    ref_dirs = get_reference_directions("das-dennis", n_obj, n_partitions=partitions)
    return NSGA3(ref_dirs=ref_dirs, pop_size=pop_size, **_operators(space, history))


@ALGORITHMS.register("agemoea", aliases=("age-moea", "age"))
def agemoea(space: Space, pop_size: int, n_obj: int, history: set[str]):
    """AGE-MOEA (Panichella 2019): adaptive geometry estimation of the front (needs numba)."""
    import importlib.util

    if importlib.util.find_spec("numba") is None:
        from hwnas.errors import HwnasUsageError

        raise HwnasUsageError("--algorithm agemoea needs numba: pip install 'hwnas[agemoea]' "
                              "(or use nsga2, nsga3 or smsemoa)")
    from pymoo.algorithms.moo.age import AGEMOEA

    return AGEMOEA(pop_size=pop_size, **_operators(space, history))


@ALGORITHMS.register("smsemoa", aliases=("sms-emoa", "sms"))
def smsemoa(space: Space, pop_size: int, n_obj: int, history: set[str]):
    """SMS-EMOA (Beume et al. 2007): least hypervolume contribution survival."""
    from pymoo.algorithms.moo.sms import SMSEMOA

    return SMSEMOA(pop_size=pop_size, **_operators(space, history))


@ALGORITHMS.register("random", aliases=("random-search",))
def random_search(space: Space, pop_size: int, n_obj: int, history: set[str]):
    """Random search: every generation is a fresh uniform sample (no selection pressure)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.mating import Mating
    from pymoo.core.initialization import Initialization

    ops = _operators(space, history)
    algo = NSGA2(pop_size=pop_size, **ops)
    init = Initialization(ops["sampling"], repair=ops["repair"], eliminate_duplicates=ops["eliminate_duplicates"])

    class _Fresh(Mating):
        def do(self, problem, pop, n_offsprings, **kwargs):
            return init.do(problem, n_offsprings, **kwargs)

    algo.mating = _Fresh(None, None, None)
    return algo


@ALGORITHMS.register("exhaustive", aliases=("all", "enumerate"))
def exhaustive(space: Space, pop_size: int, n_obj: int, history: set[str]):
    """Every isomorphism class of the space (NB201: 6,466), in index order."""
    return None


@ALGORITHMS.register("az-evolution", aliases=("az_evolution", "azevolution", "evolution"))
def az_evolution(space: Space, pop_size: int, n_obj: int, history: set[str]):
    """AZ-NAS Algorithm 1: mutate one of the top-k (k = --pop-size) architectures by score within
    the budgets, one architecture per step, re-ranking the whole history every step."""
    return None


def _das_dennis_count(n_obj: int, partitions: int) -> int:
    from math import comb

    return comb(n_obj + partitions - 1, partitions)


def algorithm_names() -> list[str]:
    return ALGORITHMS.names()
