"""Build hwnas/_data/nb201_costs.npz: params and FLOPs (NAS-Bench-201 convention, per sample) of
every NB201 architecture on each dataset, and each architecture's isomorphism-class
representative (`NB201Space.canonical`). Both are exact counts (`hwnas.counting`) cached so that
a search does not build 600 networks to count them; tests/test_nb201_costs.py recounts.

    python scripts/build_nb201_costs.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hwnas import __version__
from hwnas.spaces import get_space
from hwnas.spaces import nb201

OUT = Path(__file__).resolve().parents[1] / "hwnas" / "_data" / "nb201_costs"


def main() -> None:
    nb201.use_cost_table(False)  # count, never read an older table
    sp = get_space("nb201")
    arrays: dict[str, np.ndarray] = {"representatives": nb201.representative_indices()}
    for ds in sp.datasets:
        arrays[f"{ds}/params"], arrays[f"{ds}/flops"] = nb201.cost_arrays(ds)
    np.savez_compressed(OUT.with_suffix(".npz"), **arrays)
    OUT.with_suffix(".json").write_text(json.dumps({
        "what": "params and FLOPs per sample (hwnas.counting convention 'nb201') of all 15,625 NB201 archs per "
                "dataset, and the isomorphism-class representative of each (fewest FLOPs, then smallest index)",
        "hwnas_version": __version__, "command": "python scripts/build_nb201_costs.py",
    }, indent=2) + "\n")
    print(f"wrote {OUT.with_suffix('.npz')}")


if __name__ == "__main__":
    main()
