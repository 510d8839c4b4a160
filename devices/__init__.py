"""Target devices (installed as `hwnas.devices`).

* `registry`   -- `Device` records (name, aliases, kind, metrics and units, batch size, source,
  coverage) in the `DEVICES` registry; `get_device(name)` with close-match suggestions.
* `measured`   -- `Cost` and `measured_cost(space, arch, device, metric)`: what was measured,
  from the shipped tables (`hwnas/_data/*_measured.npz`) or a registered HW-NAS-Bench pickle.
* `fbnet`      -- FBNet cost from HW-NAS-Bench's per-block table (exact).
* `hwnasbench` -- safe reader for `HW-NAS-Bench-v1_0.pickle` and `register_hwnasbench(path)`.
* `hw360`      -- reader for HW-NAS-Bench-360's `dataset.parquet` and `register_hw360(path)`.
* `costs`      -- `cost_table(space, device, metric)`: measured > predicted > estimated per arch.
* `energy`     -- the NB201 energy estimate (power model x latency) and its validation.
"""

from hwnas.devices.fbnet import fbnet_cost, fbnet_costs
from hwnas.devices.hw360 import read_hw360, register_hw360, registered_hw360
from hwnas.devices.hwnasbench import read_hwnasbench, register_hwnasbench, registered_hwnasbench
from hwnas.devices.measured import (
    COST_SOURCES,
    Cost,
    devices_with_data,
    failed_archs,
    fbnet_archs,
    measured_column,
    measured_cost,
)
from hwnas.devices.registry import DEVICES, KINDS, METRIC_UNITS, Coverage, Device, all_devices, get_device

__all__ = [
    "COST_SOURCES", "DEVICES", "KINDS", "METRIC_UNITS", "Cost", "Coverage", "Device", "all_devices",
    "devices_with_data", "failed_archs", "fbnet_archs", "fbnet_cost", "fbnet_costs", "get_device",
    "measured_column", "measured_cost", "read_hw360", "read_hwnasbench", "register_hw360", "register_hwnasbench", "registered_hw360",
    "registered_hwnasbench",
]
