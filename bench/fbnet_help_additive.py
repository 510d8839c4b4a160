"""How well the additive per-(layer, op) model prices FBNet networks on HELP's devices, where
the search uses it (any network HELP did not measure): fitted on 900 of HELP's 5,000 measured
FBNet networks, tested on the other 4,100, per device (the label each prediction carries).

    python bench/fbnet_help_additive.py
"""

from __future__ import annotations

import json
import re
from importlib import resources

import numpy as np


def main() -> None:
    from hwnas.devices.space_costs import fbnet_additive_model

    meta = json.loads(resources.files("hwnas._data").joinpath("fbnet_measured.json").read_text())
    rows = []
    for col in meta["columns"]:
        label = fbnet_additive_model(col["device"], col["metric"]).label
        rho = float(re.search(r"Spearman ([0-9.-]+)", label).group(1))
        within = float(re.search(r"([0-9]+) % within", label).group(1))
        rows.append((col["device"], rho, within))
    print("| device | Spearman | within +-10 % |\n|---|---|---|")
    for dev, rho, within in sorted(rows, key=lambda r: r[1]):
        print(f"| {dev} | {rho:.3f} | {within:.0f} |")
    rhos, ws = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    print(f"\n{len(rows)} devices: Spearman median {np.median(rhos):.3f} (min {rhos.min():.3f}); "
          f"within +-10 % median {np.median(ws):.0f} % (min {ws.min():.0f} %); Spearman >= 0.98 on "
          f"{int((rhos >= 0.98).sum())} of {len(rows)}")


if __name__ == "__main__":
    main()
