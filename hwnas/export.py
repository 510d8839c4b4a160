"""Network -> verified ONNX file: export (TorchScript exporter, dynamic batch axis, metadata),
`onnx.checker`, and onnxruntime parity with PyTorch in eval mode. Files are written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from hwnas.errors import ExportError, HwnasUsageError
from hwnas.storage import check_output_path, current_umask, probe_writable  # noqa: F401 (re-exported)

MIN_OPSET = 17
MAX_OPSET = 20  # highest opset the TorchScript exporter writes
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


@dataclass(frozen=True)
class ExportReport:
    """What `export_onnx` wrote and how it was verified."""

    path: Path
    opset: int
    max_abs_diff: float | None  # onnxruntime vs PyTorch on a random batch; None if not verified
    export_s: float  # seconds spent in torch.onnx.export
    verify_s: float  # seconds spent in checker + onnxruntime


def check_opset(opset: object) -> int:
    """``opset`` as an int in MIN_OPSET..MAX_OPSET; a usage error otherwise."""
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise HwnasUsageError(f"opset {opset!r} is not supported; use {MIN_OPSET}..{MAX_OPSET}")
    return opset


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, input_shape: tuple[int, int, int], seed: int = 0,
                        target_std: float = 0.5, batches: int = 1, batch_size: int = 8) -> None:
    """Give an untrained network sane eval-mode BatchNorm statistics: the running mean and
    variance are measured on ``batches`` Gaussian batches, and the variance is then scaled so
    that every BatchNorm outputs standard deviation ``target_std`` (not 1) on such inputs.
    Weights are unchanged.

    Why: with PyTorch's fresh statistics (mean 0, var 1), skip-only cells add up to outputs of
    1e7; with unit-std calibration, a chain of ~50 ReLU-conv-BN layers sits at the edge of chaos
    and amplifies float32 rounding ~1e4-fold (PyTorch float32 vs float64 differ by 4e-4 on
    NAS-Bench-201 arch 376), so no two runtimes could agree to 1e-4. At std 0.5 the same
    network's float32 error is 3e-8."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    momenta = [bn.momentum for bn in bns]
    was_training = model.training
    gen = torch.Generator().manual_seed(seed)
    try:
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average
        model.train()
        for _ in range(batches):
            model(torch.randn((batch_size, *input_shape), generator=gen))
        for bn in bns:
            bn.running_var.div_(target_std**2)
    finally:
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
        model.train(was_training)


def verify_onnx(path: Path, model: nn.Module, input_shape: tuple[int, int, int],
                atol: float = 1e-4, batch_size: int = 3, seed: int = 0) -> float:
    """Run `onnx.checker` on ``path`` and compare onnxruntime with PyTorch (eval mode) on a
    Gaussian batch of ``batch_size`` (not the exported batch, to exercise the dynamic axis).
    Returns the max absolute difference; raises `ExportError` above ``atol``."""
    import onnx
    import onnxruntime as ort

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{path}: onnx.checker failed: {exc}") from exc
    x = torch.randn((batch_size, *input_shape), generator=torch.Generator().manual_seed(seed))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        expected = model(x).numpy()
    model.train(was_training)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})
    if got.shape != expected.shape:
        raise ExportError(f"{path}: onnxruntime output shape {got.shape} != PyTorch {expected.shape}")
    diff = float(np.max(np.abs(got - expected))) if got.size else 0.0
    if not diff <= atol:  # also catches NaN
        raise ExportError(f"{path}: onnxruntime differs from PyTorch by {diff:.3g} (> {atol:g})")
    return diff


@contextlib.contextmanager
def _without_cse() -> Iterator[None]:
    """Switch off the common-subexpression elimination pass of the TorchScript ONNX exporter
    (process-wide, for the duration of the block)."""
    original = torch._C._jit_pass_cse
    torch._C._jit_pass_cse = lambda graph: False
    try:
        yield
    finally:
        torch._C._jit_pass_cse = original


def export_onnx(
    model: nn.Module,
    input_shape: tuple[int, int, int],
    path: "str | os.PathLike[str]",
    metadata: dict[str, str] | None = None,
    opset: int = MIN_OPSET,
    verify: bool = True,
    atol: float = 1e-4,
    seed: int = 0,
    merge_identical_ops: bool = True,
) -> ExportReport:
    """Export ``model`` (eval mode, input (N, *input_shape) with N dynamic) to ``path`` with
    ``metadata`` as model properties; verify with `verify_onnx` unless ``verify`` is False.
    The file appears only once export and verification succeeded.

    ``merge_identical_ops=False`` turns off the TorchScript exporter's common-subexpression
    elimination, so the graph keeps one node per op the network runs: by default two
    ``avg_pool_3x3`` edges on one tensor become a single ``AveragePool`` (same outputs either way)."""
    check_opset(opset)
    out = check_output_path(path)
    import onnx

    was_training = model.training
    model.eval()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            with contextlib.nullcontext() if merge_identical_ops else _without_cse():
                torch.onnx.export(
                    model,
                    (torch.zeros((1, *input_shape)),),
                    str(tmp),
                    input_names=[INPUT_NAME],
                    output_names=[OUTPUT_NAME],
                    opset_version=opset,
                    dynamo=False,
                    dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                    do_constant_folding=True,
                )
        proto = onnx.load(str(tmp))
        for key, value in (metadata or {}).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = str(key), str(value)
        proto.producer_name = "hwnas"
        onnx.save(proto, str(tmp))
        export_s = time.perf_counter() - start
        diff = None
        start = time.perf_counter()
        if verify:
            diff = verify_onnx(tmp, model, input_shape, atol=atol, seed=seed)
        verify_s = time.perf_counter() - start
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, out)
    finally:
        model.train(was_training)
        tmp.unlink(missing_ok=True)
    return ExportReport(path=out, opset=opset, max_abs_diff=diff, export_s=export_s, verify_s=verify_s)
