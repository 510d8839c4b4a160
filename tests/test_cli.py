"""The `hwnas` command line: help, version, spaces, export, and one-line usage errors (exit 2)."""

from __future__ import annotations

import subprocess
import sys

import onnx
import pytest

from hwnas import __version__
from hwnas.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hwnas", *args], capture_output=True, text=True, timeout=300)


def test_help_version_and_spaces():
    out = run("--help")
    assert out.returncode == 0 and "export" in out.stdout and "spaces" in out.stdout
    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"hwnas {__version__}"
    spaces = run("spaces")
    assert spaces.returncode == 0 and "nb201" in spaces.stdout and "15,625" in spaces.stdout
    assert "--arch" in run("export", "--help").stdout


def test_proxies_lists_every_registered_proxy(capsys):
    from hwnas.proxies import PROXIES

    assert main(["proxies"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in PROXIES.names()) and "multi-batch" in out


def test_shipped_proxy_timing_covers_every_proxy():
    """`hwnas proxies` shows ms/arch for every registered proxy: a new proxy needs a new
    measurement (`hwnas proxies --time --archs 5 --out hwnas/_data/proxy_ms.json`)."""
    from hwnas.proxies import PROXIES
    from hwnas.proxies.timing import shipped_proxy_ms

    record = shipped_proxy_ms()
    assert record is not None and set(record["ms_per_arch"]) == set(PROXIES.names())
    assert all(v > 0 for v in record["ms_per_arch"].values())
    assert record["setting"]["batch_size"] == 64 and record["setting"]["dataset"] == "cifar100"


def test_proxies_time_measures_here_and_writes_json(tmp_path, capsys):
    import json

    out = tmp_path / "sub" / "ms.json"
    assert main(["proxies", "--time", "--archs", "1", "--proxies", "params,synflow", "--batch-size", "8",
                 "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert set(record["ms_per_arch"]) == {"params", "synflow"} and record["setting"]["batch_size"] == 8
    # synflow runs a forward and backward pass, params only counts: it cannot be cheaper
    assert record["ms_per_arch"]["synflow"] > record["ms_per_arch"]["params"] > 0
    shown = capsys.readouterr().out
    assert "synflow" in shown and "naswot" not in shown and "batch 8" in shown


def test_export_writes_a_verified_file(tmp_path):
    path = tmp_path / "net.onnx"
    out = run("export", "--space", "nb201", "--arch", "6111", "--dataset", "cifar100", "-o", str(path))
    assert out.returncode == 0, out.stderr
    assert "onnx.checker ok" in out.stdout and "index 6111" in out.stdout
    onnx.checker.check_model(str(path))


def test_export_accepts_an_arch_string(tmp_path, capsys):
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    assert main(["export", "--arch", arch, "-o", str(tmp_path / "a.onnx"), "--dataset", "cifar10"]) == 0
    assert "index 6111" in capsys.readouterr().out


@pytest.mark.parametrize("args, fragment", [
    (["export", "--space", "nb2O1", "--arch", "1", "-o", "{tmp}/x.onnx"], "unknown search space 'nb2O1'"),
    (["export", "--arch", "15625", "-o", "{tmp}/x.onnx"], "out of range; use 0..15624"),
    (["export", "--arch", "|nor_conv_3x3~0|+|none~0|", "-o", "{tmp}/x.onnx"], "malformed NAS-Bench-201 arch string"),
    (["export", "--arch", "7", "-o", "{tmp}/missing/x.onnx"], "does not exist; create it first"),
    (["export", "--arch", "7", "-o", "{tmp}"], "is a directory"),
    (["export", "--arch", "7"], "Missing option '-o' / '--output'"),
    (["export", "--arch", "7", "-o", "{tmp}/x.onnx", "--dataset", "imagenet"], "unknown dataset"),
    (["export", "--arch", "7", "-o", "{tmp}/x.onnx", "--opset", "abc"], "'abc' is not a valid integer"),
    (["frobnicate"], "No such command 'frobnicate'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, fragment):
    code = main([a.replace("{tmp}", str(tmp_path)) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err
    assert err.count("\n") == 1 and err.startswith("hwnas: error: ")
    assert "Traceback" not in err


def test_console_script_reports_errors_without_traceback(tmp_path):
    out = run("export", "--arch", "99999", "-o", str(tmp_path / "x.onnx"))
    assert out.returncode == 2
    assert out.stderr.strip() == "hwnas: error: NAS-Bench-201 index 99999 is out of range; use 0..15624"


def test_help_does_not_import_torch():
    code = "import sys, hwnas.cli; assert 'torch' not in sys.modules, 'torch imported'"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
