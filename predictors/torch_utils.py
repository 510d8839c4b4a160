"""Small torch helpers shared by the neural predictors: seeded construction, a deterministic
training loop, and state dicts as plain numpy arrays (for weights.npz)."""

from __future__ import annotations

import contextlib
import math
from typing import Callable, Iterator

import numpy as np


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block under ``torch.manual_seed(seed)`` without disturbing the caller's RNG."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def state_to_numpy(module, prefix: str = "net.") -> dict[str, np.ndarray]:
    return {prefix + k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def numpy_to_state(module, arrays: dict[str, np.ndarray], prefix: str = "net.") -> None:
    """Load arrays written by `state_to_numpy`; ValueError on a missing array or a shape mismatch."""
    import torch

    own = module.state_dict()
    new = {}
    for k, v in own.items():
        key = prefix + k
        if key not in arrays:
            raise ValueError(f"array {key!r} is missing")
        arr = np.asarray(arrays[key])
        if tuple(arr.shape) != tuple(v.shape):
            raise ValueError(f"array {key!r} has shape {arr.shape}, the model needs {tuple(v.shape)}")
        new[k] = torch.as_tensor(arr, dtype=v.dtype)
    module.load_state_dict(new)


def lr_factor(step: int, total_steps: int, warmup_steps: int) -> float:
    """Learning-rate multiplier at optimiser step ``step`` (0-based): linear warm-up over
    ``warmup_steps``, then a cosine decay that reaches 0 after ``total_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def train_loop(params, n: int, batch_size: int, epochs: int, lr: float, weight_decay: float, seed: int,
               step: Callable[[np.ndarray], "object"], lrs: "list[float] | None" = None) -> list[float]:
    """AdamW with linear warm-up (10 % of the steps) and a cosine learning-rate decay (`lr_factor`)
    over ``epochs`` passes of shuffled mini-batches. ``step(indices)`` returns the loss tensor of one
    batch. Shuffling uses a numpy generator seeded with ``seed``, so training is a function of the
    seed. Returns the mean loss per epoch; ``lrs``, if given, receives the learning rate of every step."""
    import torch

    params = list(params)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    batches_per_epoch = max(1, -(-n // batch_size))
    total_steps = max(1, epochs * batches_per_epoch)
    warmup_steps = max(1, total_steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_factor(k, total_steps, warmup_steps))
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        order = rng.permutation(n)
        loss_sum = 0.0
        for b in range(batches_per_epoch):
            idx = order[b * batch_size:(b + 1) * batch_size]
            if lrs is not None:
                lrs.append(float(opt.param_groups[0]["lr"]))
            opt.zero_grad(set_to_none=True)
            loss = step(idx)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(idx)
        history.append(loss_sum / n)
    return history
