"""The search problem: a space's integer genotype -> (proxy score, hardware costs, budgets).

`SearchState` holds everything evaluated so far in a run (in evaluation order) and turns it
into pymoo objectives: F = [-proxy score, cost_1, ..., cost_k] (all minimised) and
G = [cost_j - budget_j] (feasible when <= 0). For a multi-column proxy (AZ-NAS) the score is the
rank aggregate against the shipped table's classes when the table holds the run's setting (a
fixed scale), else against the architectures evaluated so far; in that case scores move as the
run goes, so the run loop refreshes the population's F after every generation. `ArchProblem` is the pymoo `Problem`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pymoo.core.problem import Problem

from hwnas.devices.costs import CostTable
from hwnas.search.budget import Budget
from hwnas.search.scoring import ProxyScorer, objective
from hwnas.spaces.base import Space

INFEASIBLE_COST = 1e12  # stands in for +inf (fails on the device) inside pymoo
DEGENERATE = "output ignores input"

# NB201 cell edges in genotype order: (to, from) = (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2); op 0 = none
NB201_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


def output_ignores_input(genotype) -> bool:
    """True when an NB201 cell has no path of non-``none`` edges from its input (node 0) to its
    output (node 3): the cell outputs zeros whatever the input, so the whole network's output
    is the same for every image (e.g. indices 7371, 14715, 7001)."""
    reach = {0}
    for (to, frm), op in zip(NB201_EDGES, genotype):
        if op != 0 and frm in reach:
            reach.add(to)
    return 3 not in reach


def exclusion_reason(space: Space, arch, scores: dict, columns, keep_degenerate: bool = False) -> str:
    """Why architecture ``arch`` (an `Arch`) may not be on a front ("" when it may): its output
    ignores its input (unless ``keep_degenerate``), or one of its proxy scores is not finite."""
    if not keep_degenerate and space.name == "nb201" and output_ignores_input(arch.genotype):
        return DEGENERATE
    bad = [f"{c} = {scores.get(c, np.nan)}" for c in columns if not np.isfinite(scores.get(c, np.nan))]
    return f"non-finite score ({', '.join(bad)})" if bad else ""


def cheapest_members(table: CostTable) -> np.ndarray:
    """For every NB201 index, the member of its isomorphism class with the lowest cost in
    ``table`` (ties: fewest FLOPs, then smallest index). Members compute the same function, so
    this is the one to deploy; the class's cost is that member's cost (dead operations still run
    on hardware, and measurements of identical networks differ)."""
    from hwnas.spaces.nb201 import cost_arrays, representative_indices

    reps = representative_indices()
    _, flops = cost_arrays("cifar10")
    index = np.arange(reps.size)
    order = np.lexsort((index, flops, table.values, reps))
    first = np.ones(order.size, dtype=bool)
    first[1:] = reps[order][1:] != reps[order][:-1]
    best_of_rep = dict(zip(reps[order][first].tolist(), order[first].tolist()))
    return np.array([best_of_rep[int(r)] for r in reps], dtype=np.int64)


@dataclass
class SearchState:
    """What a run evaluated. ``order`` holds class representatives (what is scored and
    archived); ``members`` maps each to the member whose costs are reported and deployed
    (`cheapest_members` of the first cost table; identity when None)."""

    space: Space
    scorer: ProxyScorer
    costs: list[CostTable]  # one per cost objective, in objective order
    budgets: list[Budget]
    members: np.ndarray | None = None
    order: list[int] = field(default_factory=list)  # representative indices, evaluation order
    position: dict[int, int] = field(default_factory=dict)  # index -> position in `order`
    columns: dict[str, list[float]] = field(default_factory=dict)
    origins: list[str] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    keep_degenerate: bool = False
    reference_costs: list[CostTable] = field(default_factory=list)  # shown beside the objectives, not optimised
    excluded: list[str] = field(default_factory=list)  # per evaluated arch: why it may not be on a front, or ""
    _score: np.ndarray | None = None

    def add(self, indices: list[int]) -> None:
        """Score ``indices`` (representatives) and append the new ones to the run's record."""
        evaluated = self.scorer.evaluate(indices)
        for index, ev in zip(indices, evaluated):
            index = int(index)
            if index in self.position:
                continue
            self.position[index] = len(self.order)
            self.order.append(index)
            self.keys.add(self.scorer.key(index))
            for c in self.scorer.columns:
                self.columns.setdefault(c, []).append(ev.scores[c])
            self.origins.append(ev.origin)
            self.ms.append(ev.ms)
            error = getattr(ev, "error", "")  # scoring failed (FailedEvaluation, --ray): never on a front
            self.excluded.append(f"failed: {error}" if error else
                                 exclusion_reason(self.space, self.scorer.catalog.arch(index), ev.scores,
                                                  self.scorer.columns,
                                                  self.keep_degenerate))
        self._score = None

    def excluded_mask(self, indices: "list[int] | np.ndarray") -> np.ndarray:
        return np.array([bool(self.excluded[self.position[int(i)]]) for i in indices], dtype=bool)

    def excluded_counts(self) -> dict[str, int]:
        """How many evaluated architectures were kept off the front, by reason."""
        out: dict[str, int] = {}
        for r in self.excluded:
            if r:
                key = "failed" if r.startswith("failed: ") else r.split(" (")[0]
                out[key] = out.get(key, 0) + 1
        return out

    @property
    def n(self) -> int:
        return len(self.order)

    def scores(self) -> np.ndarray:
        """The proxy objective (larger = better) of every evaluated architecture, in order."""
        if self._score is None:
            cols = {c: np.asarray(v, dtype=np.float64) for c, v in self.columns.items()}
            self._score = (objective(cols, list(self.scorer.columns), self.scorer.reference) if self.order
                           else np.zeros(0))
        return self._score

    def member(self, indices: "list[int] | np.ndarray") -> np.ndarray:
        """The deployed member of each representative in ``indices``."""
        idx = np.asarray(indices, dtype=np.int64)
        return idx if self.members is None else self.members[idx]

    def cost_matrix(self, indices: "list[int] | np.ndarray") -> np.ndarray:
        """Costs [n, k] of representatives ``indices`` (their deployed members' costs)."""
        idx = self.member(indices)
        return np.stack([t.values[idx] for t in self.costs], axis=1) if self.costs else np.zeros((len(idx), 0))

    def budget_matrix(self, indices: "list[int] | np.ndarray") -> np.ndarray:
        """What the budgets are checked against [n, k]: each cost's upper bound where its
        prediction states an uncertainty (`CostTable.budget_values`), else the cost."""
        idx = self.member(indices)
        return (np.stack([t.budget_values()[idx] for t in self.costs], axis=1) if self.costs
                else np.zeros((len(idx), 0)))

    def feasible(self, indices: "list[int] | np.ndarray") -> np.ndarray:
        B = self.budget_matrix(indices)
        ok = np.ones(len(B), dtype=bool)
        for b in self.budgets:
            j = self.metric_column(b.metric)
            ok &= B[:, j] <= b.limit
        return ok

    def metric_column(self, metric: str) -> int:
        return [t.metric for t in self.costs].index(metric)

    def objectives(self, indices: "list[int] | np.ndarray") -> tuple[np.ndarray, np.ndarray]:
        """pymoo (F, G) of evaluated ``indices`` under the current score ranking."""
        s = self.scores()
        pos = np.array([self.position[int(i)] for i in indices], dtype=np.int64)
        score = s[pos] if pos.size else np.zeros(0)
        score = np.where(np.isfinite(score), score, -INFEASIBLE_COST)
        C = np.minimum(self.cost_matrix(indices), INFEASIBLE_COST)
        F = np.column_stack([-score, C])
        B = np.minimum(self.budget_matrix(indices), INFEASIBLE_COST)
        G = np.column_stack([B[:, self.metric_column(b.metric)] - b.limit for b in self.budgets]) \
            if self.budgets else np.zeros((len(pos), 0))
        bad = self.excluded_mask(indices) if pos.size else np.zeros(0, dtype=bool)
        if bad.any():  # excluded archs are the worst in every objective, and infeasible
            F[bad] = INFEASIBLE_COST
            G[bad] = INFEASIBLE_COST
        return F, G

    def front(self) -> np.ndarray:
        """Positions (in evaluation order) of the feasible non-dominated architectures that are
        not excluded (`exclusion_reason`), best score first."""
        from hwnas.search.front import non_dominated

        if not self.order:
            return np.zeros(0, dtype=np.int64)
        ok = np.flatnonzero(self.feasible(self.order) & ~self.excluded_mask(self.order))
        if ok.size == 0:
            return ok
        F, _ = self.objectives([self.order[i] for i in ok])
        nd = ok[non_dominated(F)]
        s = self.scores()
        return nd[np.lexsort((np.array(self.order)[nd], -s[nd]))]


class ArchProblem(Problem):
    """pymoo problem over ``space``'s genotype; evaluation goes through a `SearchState`."""

    def __init__(self, state: SearchState) -> None:
        lo, hi = state.space.genotype_bounds
        super().__init__(n_var=len(lo), n_obj=1 + len(state.costs), n_ieq_constr=len(state.budgets),
                         xl=lo, xu=hi, vtype=int)
        self.state = state

    def indices(self, X: np.ndarray) -> list[int]:
        """Run ids (`ArchCatalog`) of the canonical representatives of genotypes ``X``."""
        return self.state.scorer.catalog.ids_of_genotypes(X)

    def _evaluate(self, X, out, *args, **kwargs):
        idx = self.indices(X)
        self.state.add(idx)
        F, G = self.state.objectives(idx)
        out["F"] = F
        if self.n_ieq_constr:
            out["G"] = G
