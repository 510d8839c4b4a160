"""ONNX export: checker + onnxruntime parity on a random sample with the degenerate cells,
metadata, the dynamic batch axis, atomic writes and clear errors."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from hwnas import HwnasUsageError, __version__, get_space
from hwnas.api import export
from hwnas.export import ExportError, export_onnx
from hwnas.init import build_seeded

SPACE = get_space("nb201")
DEGENERATE = {
    "all none": "0,0,0,0,0,0",
    "only skips": "1,1,1,1,1,1",
    "only pools": "4,4,4,4,4,4",
    "only 3x3 convs": "3,3,3,3,3,3",
    "only 1x1 convs": "2,2,2,2,2,2",
    "skip chain, output cut": "1,0,1,0,0,1",
    "conv chain": "3,0,2,0,0,3",
}


def _sample() -> list[str]:
    rng = np.random.default_rng(2024)
    indices = rng.choice(SPACE.num_archs, size=100, replace=False)
    return list(DEGENERATE.values()) + [str(i) for i in indices]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_sample_of_107_archs_exports_and_matches_pytorch(tmp_path):
    worst = 0.0
    for text in _sample():
        result = export(text, tmp_path / "net.onnx", dataset="cifar100")
        assert result.report.max_abs_diff is not None and result.report.max_abs_diff <= 1e-4, text
        worst = max(worst, result.report.max_abs_diff)
    assert list(tmp_path.iterdir()) == [tmp_path / "net.onnx"]  # no temporary files left
    print(f"worst max |diff| over {len(_sample())} archs: {worst:.2e}")


def test_keeping_identical_ops_gives_one_node_per_cell_op(tmp_path):
    """Arch 11224 (skip, pool, pool, pool, pool, pool): node 1 is node 0, so four of the five pools
    read one tensor and the exporter merges them; merge_identical_ops=False keeps all 15 x 5 (+ the
    2 reduction-block pools), and the file still matches PyTorch."""
    counts = {}
    for merge in (True, False):
        result = export(11224, tmp_path / f"{merge}.onnx", dataset="cifar10", merge_identical_ops=merge)
        assert result.report.max_abs_diff <= 1e-4
        nodes = onnx.load(str(tmp_path / f"{merge}.onnx")).graph.node
        counts[merge] = sum(n.op_type == "AveragePool" for n in nodes)
    assert counts == {True: 32, False: 77}
    assert torch._C._jit_pass_cse.__name__ != "<lambda>"  # the exporter's pass is restored


@pytest.mark.parametrize("dataset, classes, size", [("cifar10", 10, 32), ("imagenet16-120", 120, 16)])
def test_metadata_opset_and_dynamic_batch(tmp_path, dataset, classes, size):
    path = tmp_path / "m.onnx"
    result = export(6111, path, dataset=dataset, opset=18)
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["space"] == "nb201" and meta["arch_index"] == "6111" and meta["dataset"] == dataset
    assert meta["arch"] == SPACE.to_str(SPACE.arch_at(6111)) and meta["hwnas_version"] == __version__
    assert max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx")) == 18
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, size, size]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((5, 3, size, size)).astype(np.float32)
    (logits,) = session.run(None, {"input": x})
    assert logits.shape == (5, classes)
    assert result.cost == SPACE.cost(SPACE.arch_at(6111), dataset)


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    def weights(seed: int) -> list[np.ndarray]:
        path = tmp_path / f"s{seed}.onnx"
        export("6111", path, seed=seed)
        return [onnx.numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer]

    a, b, c = weights(0), weights(0), weights(1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_failed_verification_leaves_no_file(tmp_path):
    model = build_seeded(SPACE.arch_at(6111), "cifar100").eval()
    path = tmp_path / "bad.onnx"
    with pytest.raises(ExportError, match="differs from PyTorch"):
        export_onnx(model, (3, 32, 32), path, atol=-1.0)  # no difference can pass
    assert list(tmp_path.iterdir()) == []


def test_unverified_export_skips_the_check(tmp_path):
    result = export(0, tmp_path / "x.onnx", verify=False)
    assert result.report.max_abs_diff is None and (tmp_path / "x.onnx").is_file()


def test_written_file_has_the_usual_permissions(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        export(0, tmp_path / "x.onnx", verify=False)
    finally:
        os.umask(mask)
    assert (tmp_path / "x.onnx").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("kwargs, fragment", [
    ({"path": "/nonexistent-dir/x.onnx"}, "does not exist"),
    ({"opset": 12}, "opset 12 is not supported"),
    ({"space": "darts"}, "unknown search space"),
    ({"dataset": "mnist"}, "unknown dataset"),
])
def test_bad_requests_are_usage_errors(tmp_path, kwargs, fragment):
    args = {"arch": 1, "path": tmp_path / "x.onnx", **kwargs}
    with pytest.raises(HwnasUsageError, match=fragment):
        export(**args)


def test_output_path_that_is_a_directory_is_refused(tmp_path):
    with pytest.raises(HwnasUsageError, match="is a directory"):
        export(1, tmp_path)
