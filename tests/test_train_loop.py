"""The shared optimiser loop of the mlp and gcn predictors: warm-up, then a cosine decay to 0."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hwnas.predictors.torch_utils import lr_factor, train_loop


def test_lr_factor_warms_up_then_decays_monotonically_to_zero():
    total, warmup = 200, 20
    f = [lr_factor(k, total, warmup) for k in range(total)]
    assert f[0] == pytest.approx(1 / warmup)
    assert f[warmup - 1] == pytest.approx(1.0)
    assert all(a < b for a, b in zip(f[:warmup - 1], f[1:warmup]))
    assert all(a >= b for a, b in zip(f[warmup:], f[warmup + 1:]))
    assert f[-1] < 1e-3
    assert lr_factor(total, total, warmup) == pytest.approx(0.0)


def test_train_loop_follows_the_schedule_and_fits_a_line():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 64).unsqueeze(1)
    y = 3.0 * x + 0.5
    model = torch.nn.Linear(1, 1)
    lrs: list[float] = []

    def step(idx):
        i = torch.as_tensor(idx)
        return torch.nn.functional.mse_loss(model(x[i]), y[i])

    history = train_loop(model.parameters(), 64, 16, 100, 0.05, 0.0, 0, step, lrs=lrs)
    assert len(lrs) == 100 * 4 and len(history) == 100
    peak = int(np.argmax(lrs))
    assert lrs[peak] == pytest.approx(0.05)
    # after the warm-up the rate never rises again (a schedule that restarts or oscillates fails)
    assert all(a >= b - 1e-12 for a, b in zip(lrs[peak:], lrs[peak + 1:]))
    assert lrs[-1] < 1e-3 * 0.05
    assert history[-1] < 1e-4
