"""`hwnas profile` and `hwnas.devices.profile`: in-memory ONNX models equal to the exporter's,
CSV + sidecar, resume, protocol refusal, architecture specs and one-line usage errors."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from hwnas.cli import main
from hwnas.devices import profile as prof
from hwnas.errors import HwnasUsageError
from hwnas.spaces import get_space

FAST = ["--repeats", "3", "--warmup", "1", "--quiet"]
A6111 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Torch and the k-means of sample:N on one thread: several times faster on a busy 2-core
    machine (pools that spin wait for a preempted partner), same results."""
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


def _rows(path):
    return list(csv.reader(io.StringIO(path.read_text())))


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("hwnas: error:"), err
    return err


# --- the model that is timed ------------------------------------------------------------
def _node_view(proto: onnx.ModelProto):
    """Per node: op type, name, attributes, and the value of each input that is a weight."""
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    view = []
    for n in proto.graph.node:
        if n.op_type == "Identity" and n.input[0] in inits:  # the exporter's shared equal weights
            inits[n.output[0]] = inits[n.input[0]]
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Constant":
            attrs = {"value": float(numpy_helper.to_array(attrs["value"]))}
        weights = [inits[i] for i in n.input if i in inits]
        view.append((n.op_type, n.name, attrs, weights))
    return view


ALL_OPS = "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"


@pytest.mark.parametrize("arch", [ALL_OPS, "7371"])  # 7371: degenerate, dead convs, shared equal weights
def test_in_memory_model_is_the_exported_graph_with_its_weights(arch, tmp_path):
    from hwnas import api

    sp = get_space("nb201")
    index = sp.index(sp.parse(arch))

    api.export(index, tmp_path / "x.onnx", dataset="cifar100", merge_identical_ops=False, verify=False)
    exported = _node_view(onnx.load(str(tmp_path / "x.onnx")))
    built = _node_view(onnx.load_from_string(prof.onnx_model_bytes("nb201", index, "cifar100", seed=0)))
    assert [v[:3] for v in built] == [v[:3] for v in exported]
    for (_, name, _, wb), (_, _, _, we) in zip(built, exported):
        assert len(wb) == len(we), name
        for a, b in zip(wb, we):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=name)
    # and onnxruntime on it computes what PyTorch computes
    model = prof._seeded_model("nb201", index, "cifar100", 0)
    x = prof.profile_input("nb201", "cifar100", 0)
    session = prof.make_session(prof.onnx_model_bytes("nb201", index, "cifar100", 0), threads=1)
    (got,) = session.run(None, {"input": x})
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert np.abs(got - expected).max() <= 1e-4


def test_timing_statistics():
    median, var = prof.summarize(np.array([1_000_000, 2_000_000, 4_000_000]))
    assert median == 2.0 and var == pytest.approx(np.var([1.0, 2.0, 4.0]))
    session = prof.make_session(prof.onnx_model_bytes("nb201", 3, "cifar10", 0))
    times = prof.time_session(session, prof.profile_input("nb201", "cifar10"), repeats=4, warmup=0)
    assert times.shape == (4,) and times.dtype == np.int64 and (times > 0).all()


# --- CSV, sidecar, resume ----------------------------------------------------------------
def test_csv_columns_and_sidecar(tmp_path, capsys):
    out = tmp_path / "m.csv"
    assert main(["profile", "--archs", f"3,{A6111}", "--out", str(out), *FAST]) == 0
    rows = _rows(out)
    assert rows[0] == ["arch", "latency_ms", "latency_var_ms2", "arch_str"]
    assert [r[0] for r in rows[1:]] == ["3", "6111"] and rows[2][3] == A6111
    assert all(float(r[1]) > 0 and float(r[2]) >= 0 for r in rows[1:])
    meta = json.loads((tmp_path / "m.csv.json").read_text())
    for key in ("cpu_model", "cpu_count", "onnxruntime_version", "hwnas_version", "threads", "repeats",
                "warmup", "dataset", "space", "seed", "date"):
        assert key in meta, key
    assert (meta["threads"], meta["repeats"], meta["warmup"], meta["dataset"], meta["space"]) == \
        (1, 3, 1, "cifar100", "nb201")
    assert meta["cpu_model"] and meta["cpu_count"] >= 1
    assert "profiled 2 architecture(s)" in capsys.readouterr().out
    frame, side = prof.read_profile(out)
    assert list(frame.columns) == list(prof.COLUMNS) and side["repeats"] == 3


def test_resume_times_only_new_archs(tmp_path, monkeypatch, capsys):
    out = tmp_path / "m.csv"
    assert main(["profile", "--archs", "3,4", "--out", str(out), *FAST]) == 0
    before = out.read_bytes()
    timed = []
    real = prof.onnx_model_bytes
    monkeypatch.setattr(prof, "onnx_model_bytes", lambda sp, i, *a, **k: timed.append(i) or real(sp, i, *a, **k))
    assert main(["profile", "--archs", "4,2-4,3", "--out", str(out), *FAST]) == 0
    assert timed == [2]  # 3 and 4 were in the file
    after = out.read_bytes()
    assert after.startswith(before)  # earlier rows byte for byte
    assert [r[0] for r in _rows(out)[1:]] == ["3", "4", "2"]
    assert "(2 already in" in capsys.readouterr().out
    # the API returns the requested order, old rows included
    frame = prof.profile_archs("nb201", "cifar100", [2, 3], repeats=3, warmup=1, out=out)
    assert list(frame["arch"]) == [2, 3] and timed == [2]


def test_resume_after_a_kill_mid_row(tmp_path):
    out = tmp_path / "m.csv"
    prof.profile_archs("nb201", "cifar100", [3], repeats=3, warmup=1, out=out)
    with open(out, "a") as fh:
        fh.write("4,0.12")  # a row cut short by a kill
    frame = prof.profile_archs("nb201", "cifar100", [3, 4], repeats=3, warmup=1, out=out)
    rows = _rows(out)
    assert [r[0] for r in rows[1:]] == ["3", "4"] and all(len(r) == 4 for r in rows)
    assert list(frame["arch"]) == [3, 4]


def test_other_protocol_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "m.csv"
    assert main(["profile", "--archs", "3", "--out", str(out), *FAST]) == 0
    capsys.readouterr()
    for args in (["--repeats", "4", "--warmup", "1"], ["--repeats", "3", "--warmup", "1", "--threads", "2"],
                 ["--repeats", "3", "--warmup", "1", "--dataset", "cifar10"]):
        assert main(["profile", "--archs", "3,4", "--out", str(out), "--quiet", *args]) == 2
        assert "was profiled with" in _error_line(capsys)
    assert [r[0] for r in _rows(out)[1:]] == ["3"]
    assert main(["profile", "--archs", "4", "--out", str(out), "--quiet", "--repeats", "4", "--warmup", "1",
                 "--overwrite"]) == 0
    assert [r[0] for r in _rows(out)[1:]] == ["4"]
    assert json.loads((tmp_path / "m.csv.json").read_text())["repeats"] == 4
    # a CSV without its sidecar: protocol unknown, refused
    (tmp_path / "m.csv.json").unlink()
    assert main(["profile", "--archs", "4", "--out", str(out), "--quiet", "--repeats", "4"]) == 2
    assert "without its sidecar" in _error_line(capsys)


# --- architecture specs ------------------------------------------------------------------
def test_parse_arch_spec_forms():
    assert prof.parse_arch_spec("nb201", "6111") == [6111]
    assert prof.parse_arch_spec("nb201", "5-8") == [5, 6, 7, 8]
    assert prof.parse_arch_spec("nb201", A6111) == [6111]
    assert prof.parse_arch_spec("nb201", f" 7, 5-8 ,{A6111},6, 6111") == [7, 5, 6, 8, 6111]
    everything = prof.parse_arch_spec("nb201", "12,all")
    assert len(everything) == 15_625 and everything[:2] == [12, 0] and len(set(everything)) == 15_625


def test_sample_spec_is_deterministic_under_seed():
    from hwnas.predictors.adapt import select_informative

    a = prof.parse_arch_spec("nb201", "sample:5", seed=0)
    assert a == prof.parse_arch_spec("nb201", "sample:5", seed=0)
    assert a == [int(v) for v in select_informative("nb201", 5, seed=0)]
    assert len(a) == 5 and a == sorted(a)
    assert prof.parse_arch_spec("nb201", "sample:5", seed=1) != a
    assert prof.parse_arch_spec("nb201", f"{a[0]},sample:5", seed=0) == a


@pytest.mark.parametrize("spec, fragment", [
    ("6111,abc", "item 2 of 2 ('abc')"),
    ("1,,2", "item 2 of 3 ('') is empty"),
    ("15625", "out of range"),
    ("9-3", "item 1 of 1 ('9-3'): range start 9 is after its end 3"),
    ("sample:0", "item 1 of 1 ('sample:0'): sample:N needs N >= 1"),
    ("sample:-2", "needs N >= 1"),
    ("sample:x", "needs a whole number"),
    ("sample:7000", "can pick 1..6466"),
    ("|nor_conv_3x3~0|+|none~0|", "malformed NAS-Bench-201 arch string"),
    ("", "empty architecture spec"),
])
def test_bad_specs(spec, fragment):
    with pytest.raises(HwnasUsageError, match=None) as exc:
        prof.parse_arch_spec("nb201", spec)
    assert fragment in str(exc.value)


def test_api_checks_arguments(tmp_path):
    for kwargs, fragment in (({"repeats": 0}, "repeats=0"), ({"threads": 0}, "threads=0"),
                             ({"warmup": -1}, "warmup=-1"), ({"seed": -1}, "seed=-1")):
        with pytest.raises(HwnasUsageError, match=fragment):
            prof.profile_archs("nb201", "cifar100", [3], **kwargs)
    with pytest.raises(HwnasUsageError, match="must be in 0..15624"):
        prof.profile_archs("nb201", "cifar100", [15625])
    with pytest.raises(HwnasUsageError, match="is a directory"):
        prof.profile_archs("nb201", "cifar100", [3], out=tmp_path)


def test_machine_info():
    info = prof.machine_info(2)
    assert info["threads"] == 2 and info["cpu_count"] == os.cpu_count()
    import onnxruntime

    assert info["onnxruntime_version"] == onnxruntime.__version__ and info["cpu_model"]


# --- one-line usage errors ---------------------------------------------------------------
@pytest.mark.parametrize("args, fragment", [
    (["--space", "nb2O1", "--archs", "3"], "unknown search space 'nb2O1'"),
    (["--dataset", "imagenet", "--archs", "3"], "unknown dataset 'imagenet'"),
    (["--archs", "3,oops"], "item 2 of 2 ('oops')"),
    (["--archs", "sample:0"], "sample:N needs N >= 1"),
    (["--archs", "3", "--repeats", "0"], "--repeats"),
    (["--archs", "3", "--threads", "0"], "--threads"),
    (["--archs", "3", "--seed", "-1"], "--seed"),
    (["--archs", "3", "--out", "{tmp}"], "is a directory"),
    (["--archs", "3", "--out", "{tmp}/afile/m.csv"], "is a file, not a folder"),
    (["--archs", "3", "--out", "/proc/m.csv"], "cannot write"),
    (["--archs", "3", "--out", ""], "output path is empty"),
])
def test_bad_input_is_one_line_and_exit_2(args, fragment, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "m.csv")]
    assert main(["profile", *args, "--quiet"]) == 2
    assert fragment in _error_line(capsys)
    assert not (tmp_path / "m.csv").exists() and not (tmp_path / "m.csv.json").exists()
