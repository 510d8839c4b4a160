"""Hyper-parameters chosen per (device, model) on the training architectures alone.

`train_predictor` starts from these and lets the caller's options override them. Each entry was
chosen with ``bench/predictor_validation.py``: fit on 720 of the issue's 900 training archs
(seed 0), compare on the other 180; the test architectures were not used (docs/benchmarks.md,
"Eleventh session").

* ``operand_order`` of the gcn (whether it reads the ``operand_slot`` node feature). jetson-tx2
  times a sum's operands in order (a ``none`` branch before a convolution costs about 14 % more,
  ``bench/operand_order.py``) and its gcn needs the feature: validation Spearman 0.9819 with it,
  0.9757 without. raspi4 and pixel3 show no such effect, and their noisier timings make the
  feature a source of over-fitting: validation Spearman 0.9803 without / 0.9771 with it (raspi4),
  0.9754 / 0.9711 (pixel3). Devices not listed keep the model's defaults.
"""

from __future__ import annotations

from typing import Any

TUNED: dict[tuple[str, str], dict[str, Any]] = {
    ("raspi4", "gcn"): {"operand_order": False},
    ("pixel3", "gcn"): {"operand_order": False},
}


def tuned_hparams(device: str, model: str) -> dict[str, Any]:
    """The validated options of ``model`` on ``device`` (canonical names); {} where none."""
    return dict(TUNED.get((device, model), {}))
