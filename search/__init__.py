"""Multi-objective hardware-aware search (installed as `hwnas.search`).

* `budget`     -- `Budget` and `parse_budget("20mJ", "energy")`;
* `operators`  -- integer-aware pymoo sampling / crossover / mutation, canonical repair and
  duplicate elimination by isomorphism key;
* `algorithms` -- `ALGORITHMS` registry: nsga2 (default), nsga3, agemoea, smsemoa, random,
  exhaustive;
* `archive`    -- the on-disk SQLite evaluation archive keyed by canonical architecture;
* `scoring`    -- proxy scores through archive -> shipped table -> live (process pool);
* `problem`    -- `SearchState` (what was evaluated) and the pymoo `ArchProblem`;
* `front`      -- non-dominated filtering and hypervolume;
* `run`        -- `SearchConfig`, `run_search` -> `ParetoResult`;
* `report`     -- pareto.csv / .json, all_evaluated.csv, pareto.png, run.json, ONNX exports.

Modules import pymoo and torch lazily where they can; importing this package is cheap.
"""

from hwnas.search.budget import Budget, parse_budget

__all__ = ["Budget", "parse_budget"]
