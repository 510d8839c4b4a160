"""Build hwnas/_data/mbv2_block_costs.npz: (params, FLOPs) of every block of the `mbv2` space.

    python scripts/build_mbv2_costs.py

`hwnas.spaces.mbv2.count_block_costs()` counts each (layer, op, width) block on the built module
(`hwnas.counting`, NAS-Bench-201 convention) once: int64 [18 layers, 9 ops, 3 widths, 2]
(params, FLOPs per sample at 224x224; skip = 0). `MBV2Space.cost` then sums 18 look-ups instead
of counting a network. `tests/test_mbv2_space.py` checks the table against counting.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "hwnas" / "_data" / "mbv2_block_costs.npz"


def main() -> None:
    import torch

    from hwnas.spaces.mbv2 import count_block_costs
    from hwnas.storage import atomic_write

    torch.set_num_threads(1)
    table = count_block_costs()
    buf = io.BytesIO()
    np.savez_compressed(buf, block_costs=table)
    atomic_write(OUT, lambda fh: fh.write(buf.getvalue()))
    print(f"wrote {OUT} {table.shape}")


if __name__ == "__main__":
    main()
