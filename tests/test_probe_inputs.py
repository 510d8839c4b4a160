"""User-provided probe inputs (.npz): validation, slicing into batches, use by the proxies."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hwnas.errors import HwnasUsageError
from hwnas.proxies import load_probe_inputs, score_all
from hwnas.proxies.xi_gsnr import XI
from hwnas.spaces.nb201_ops import TinyNetwork

torch.set_num_threads(1)

SHAPE = (3, 8, 8)
CLASSES = 5
OPS = ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "nor_conv_3x3", "skip_connect")


def tiny() -> TinyNetwork:
    return TinyNetwork(OPS, num_classes=CLASSES, channels=4, cells_per_stage=1)


def _write(path, n: int, seed: int = 0, repeat: int = 1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, *SHAPE)).astype(np.float32)
    y = rng.integers(0, CLASSES, n)
    np.savez(path, x=np.tile(x, (repeat, 1, 1, 1)), y=np.tile(y, repeat))
    return path


def test_probe_inputs_are_validated_with_the_fix_named(tmp_path):
    good = load_probe_inputs(_write(tmp_path / "ok.npz", 4), SHAPE, CLASSES)
    assert good.inputs.shape == (4, *SHAPE) and good.labels.dtype == torch.int64
    np.savez(tmp_path / "names.npz", images=np.zeros((2, *SHAPE)))
    with pytest.raises(HwnasUsageError, match="needs arrays 'x'"):
        load_probe_inputs(tmp_path / "names.npz", SHAPE, CLASSES)
    np.savez(tmp_path / "shape.npz", x=np.zeros((2, 3, 16, 16)), y=np.zeros(2, dtype=int))
    with pytest.raises(HwnasUsageError, match="the networks take N x 3 x 8 x 8"):
        load_probe_inputs(tmp_path / "shape.npz", SHAPE, CLASSES)
    np.savez(tmp_path / "labels.npz", x=np.zeros((2, *SHAPE)), y=np.array([0, CLASSES]))
    with pytest.raises(HwnasUsageError, match="labels in 0..4"):
        load_probe_inputs(tmp_path / "labels.npz", SHAPE, CLASSES)
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(HwnasUsageError, match="cannot read probe inputs"):
        load_probe_inputs(tmp_path / "junk.npz", SHAPE, CLASSES)


def test_proxies_read_the_probe_inputs(tmp_path):
    probe = load_probe_inputs(_write(tmp_path / "a.npz", 16), SHAPE, CLASSES)
    gaussian = score_all(tiny, ["grad_norm", "naswot"], SHAPE, CLASSES, seed=0, batch_size=16)
    given = score_all(tiny, ["grad_norm", "naswot"], SHAPE, CLASSES, seed=0, batch_size=16, probe=probe)
    again = score_all(tiny, ["grad_norm", "naswot"], SHAPE, CLASSES, seed=0, batch_size=16, probe=probe)
    assert given == again and all(given[k] != gaussian[k] for k in given)
    other = load_probe_inputs(_write(tmp_path / "b.npz", 16, seed=1), SHAPE, CLASSES)
    assert score_all(tiny, ["grad_norm"], SHAPE, CLASSES, seed=0, batch_size=16, probe=other) != \
        {"grad_norm": given["grad_norm"]}


def test_xi_gsnr_slices_the_probe_inputs_into_its_eight_batches(tmp_path):
    # eight identical slices: zero gradient variance, so xi-GSNR = sum(g^2) / xi
    probe = load_probe_inputs(_write(tmp_path / "same.npz", 4, repeat=8), SHAPE, CLASSES)
    score = score_all(tiny, ["xi_gsnr", "grad_norm"], SHAPE, CLASSES, seed=0, batch_size=4, probe=probe)
    assert math.isfinite(score["xi_gsnr"]) and score["xi_gsnr"] > 1e6
    distinct = load_probe_inputs(_write(tmp_path / "many.npz", 32), SHAPE, CLASSES)
    varied = score_all(tiny, ["xi_gsnr"], SHAPE, CLASSES, seed=0, batch_size=4, probe=distinct)
    assert varied["xi_gsnr"] < score["xi_gsnr"] * XI * 1e7  # variance > 0 brings it down by orders
    short = load_probe_inputs(_write(tmp_path / "short.npz", 20), SHAPE, CLASSES)
    with pytest.raises(HwnasUsageError, match="8 probe batches of 4 need 32 images"):
        score_all(tiny, ["xi_gsnr"], SHAPE, CLASSES, seed=0, batch_size=4, probe=short)
