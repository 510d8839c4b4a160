"""A corpus of bad invocations: every one is a usage error -- exit code 2, exactly one line on
stderr starting "hwnas: error:", no traceback -- found during validation (before any scoring,
building or exporting), and none changes anything outside the test's tmp folder.

The CLI runs in-process (`hwnas.cli.main`, fast); two checks run it as a subprocess.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from hwnas.cli import main
from hwnas.data import find_data_dir

GOOD = ["--device", "raspi4", "--latency", "8ms"]  # a valid pareto start; each case breaks one thing
TX2 = ["--device", "jetson-tx2", "--energy", "20mJ"]


# --- setups: files a case needs in its tmp folder --------------------------------------------------
def _file(name: str, content: bytes = b"not a folder\n") -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(content)
    return make


def _folder(name: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).mkdir(parents=True, exist_ok=True)


def _run_folder(settings: dict) -> Callable[[Path], None]:
    """A folder holding a (finished) run's run.json with ``settings``."""
    import json

    def make(tmp: Path) -> None:
        (tmp / "prev").mkdir(exist_ok=True)
        (tmp / "prev" / "run.json").write_text(json.dumps({"status": "complete", "settings": settings}))
    return make


def _sqlite_with_foreign_table(tmp: Path) -> None:
    import sqlite3

    (tmp / "foreign").mkdir(exist_ok=True)
    db = sqlite3.connect(str(tmp / "foreign" / "archive.sqlite"))
    db.execute("CREATE TABLE evaluations (a TEXT, b TEXT)")
    db.commit()
    db.close()


class _Evil:
    """Unpickling this runs a shell command: the reader must refuse it without running it."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


class _EvilEval:
    def __reduce__(self):
        return (eval, ("open('PWNED2', 'w').write('x')",))


def _pickle(name: str, obj: object, protocol: int = 2) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).write_bytes(pickle.dumps(obj, protocol=protocol))


def _data_dir(content: "bytes | None") -> Callable[[Path], None]:
    """A data folder (HWNAS_DATA_DIR=data) whose nb201/accuracy.csv holds ``content`` (None: absent)."""
    def make(tmp: Path) -> None:
        (tmp / "data" / "nb201").mkdir(parents=True, exist_ok=True)
        if content is not None:
            (tmp / "data" / "nb201" / "accuracy.csv").write_bytes(content)
    return make


_BINARY = bytes(range(256)) * 8
_DATA_ENV = {"HWNAS_DATA_DIR": "data"}

# (id, argv, setup or None, extra env or None)
CASES: list[tuple[str, list[str], "Callable[[Path], None] | None", "dict | None"]] = []


def case(cid: str, argv: list[str], setup=None, env=None) -> None:
    CASES.append((cid, argv, setup, env))


# --- pareto: budgets and units ------------------------------------------------------------------------
for cid, flag, value, dev in [
    ("no-unit", "--latency", "20", "raspi4"), ("megaseconds", "--latency", "5Ms", "raspi4"),
    ("MS", "--latency", "5MS", "raspi4"), ("MJ", "--energy", "20MJ", "jetson-tx2"),
    ("mj", "--energy", "20mj", "jetson-tx2"), ("uj", "--energy", "500uj", "jetson-tx2"),
    ("j-lower", "--energy", "0.02j", "jetson-tx2"), ("negative", "--latency", "-1ms", "raspi4"),
    ("zero", "--latency", "0ms", "raspi4"), ("inf-latency", "--latency", "1e400ms", "raspi4"),
    ("inf-energy", "--energy", "1e400mJ", "jetson-tx2"), ("words", "--latency", "lots", "raspi4"),
    ("parsecs", "--latency", "5 parsecs", "raspi4"), ("energy-for-latency", "--latency", "5mJ", "raspi4"),
    ("latency-for-energy", "--energy", "5ms", "jetson-tx2"), ("no-energy-metric", "--energy", "20mJ", "raspi4"),
    ("empty-budget", "--latency", "", "raspi4"), ("nan", "--latency", "nan ms", "raspi4"),
    ("inf-word", "--latency", "inf", "raspi4"), ("sec", "--latency", "0.005sec", "raspi4"),
    ("ns", "--latency", "5000ns", "raspi4"), ("Sec", "--latency", "5S", "raspi4"),
    ("unmet-budget", "--latency", "1us", "raspi4"), ("unmet-energy", "--energy", "1uJ", "jetson-tx2"),
    ("two-numbers", "--latency", "5 5ms", "raspi4"), ("unit-first", "--latency", "ms5", "raspi4"),
]:
    case(f"pareto-budget-{cid}", ["pareto", "--device", dev, flag, value])
case("pareto-unquoted-space", ["pareto", "--device", "raspi4", "--latency", "5", "ms"])
case("pareto-unquoted-space-energy", ["pareto", "--device", "jetson-tx2", "--energy", "20", "mJ"])
case("pareto-repeated-energy", ["pareto", "--device", "jetson-tx2", "--energy", "20mJ", "--energy", "10mJ"])
case("pareto-repeated-latency", ["pareto", "--device", "raspi4", "--latency", "5ms", "--latency", "6ms"])

# --- pareto: names -------------------------------------------------------------------------------------
for cid, extra in [
    ("device-unknown", ["--device", "raspi6"]), ("device-empty", ["--device", ""]),
    ("dataset-unknown", ["--dataset", "cifar1000"]), ("dataset-empty", ["--dataset", ""]),
    ("dataset-imagenet", ["--dataset", "imagenet"]), ("proxy-unknown", ["--proxy", "nope"]),
    ("proxy-empty", ["--proxy", ""]), ("proxy-one-unknown", ["--proxy", "az_nas,nope"]),
    ("proxy-commas", ["--proxy", ",,"]), ("algorithm-unknown", ["--algorithm", "nsga9"]),
    ("algorithm-empty", ["--algorithm", ""]), ("space-unknown", ["--space", "nope"]),
    ("space-empty", ["--space", ""]), ("unknown-option", ["--foo", "1"]),
]:
    argv = ["pareto", *GOOD]
    if extra[0] == "--device":
        argv = ["pareto", *extra, "--latency", "8ms"]
    else:
        argv += extra
    case(f"pareto-{cid}", argv)
case("pareto-missing-device", ["pareto", "--latency", "8ms"])

# --- pareto: integers ------------------------------------------------------------------------------
for cid, extra in [
    ("evaluations-zero", ["--evaluations", "0"]), ("evaluations-negative", ["--evaluations", "-5"]),
    ("evaluations-word", ["--evaluations", "abc"]), ("evaluations-fraction", ["--evaluations", "2.5"]),
    ("pop-size-one", ["--pop-size", "1"]), ("pop-size-zero", ["--pop-size", "0"]),
    ("export-negative", ["--export-onnx", "-1"]), ("workers-zero", ["--workers", "0"]),
    ("batch-zero", ["--batch-size", "0"]), ("seed-negative", ["--seed", "-1"]),
    ("seed-word", ["--seed", "abc"]), ("seed-huge", ["--seed", "99999999999"]),
    ("proxy-seed-negative", ["--proxy-seed", "-1"]), ("pop-size-word", ["--pop-size", "x"]),
    ("reference-sample-negative", ["--reference-sample", "-1"]), ("reference-sample-word", ["--reference-sample", "x"]),
]:
    case(f"pareto-{cid}", ["pareto", *GOOD, *extra])

# --- pareto: paths, existing runs, archives ---------------------------------------------------------
case("pareto-out-empty", ["pareto", *GOOD, "--out", ""])
case("pareto-out-file", ["pareto", *GOOD, "--out", "afile"], _file("afile"))
case("pareto-out-under-file", ["pareto", *GOOD, "--out", "afile/run"], _file("afile"))
case("pareto-out-proc", ["pareto", *GOOD, "--out", "/proc/hwnas-x"])
case("pareto-out-etc-file", ["pareto", *GOOD, "--out", "/etc/hostname/x"])
case("pareto-archive-under-file", ["pareto", *GOOD, "--out", "o", "--archive", "afile/a.sqlite"], _file("afile"))
case("pareto-archive-proc", ["pareto", *GOOD, "--out", "o", "--archive", "/proc/hwnas-a.sqlite"])
case("pareto-archive-is-folder", ["pareto", *GOOD, "--out", "o", "--archive", "adir"], _folder("adir"))
case("pareto-archive-corrupt", ["pareto", *GOOD, "--out", "junk"], _file("junk/archive.sqlite", _BINARY))
case("pareto-archive-text", ["pareto", *GOOD, "--out", "junk"], _file("junk/archive.sqlite", b"hello\n" * 100))
case("pareto-archive-foreign-table", ["pareto", *GOOD, "--out", "foreign"], _sqlite_with_foreign_table)
case("pareto-resume-nothing", ["pareto", *GOOD, "--out", "nowhere", "--resume"])
case("pareto-resume-and-overwrite", ["pareto", *GOOD, "--out", "o", "--resume", "--overwrite"])
_PREV = {"device": "raspi4", "space": "nb201", "dataset": "cifar10", "proxy": "az_nas", "algorithm": "nsga2",
         "seed": 0, "evaluations": 1000, "pop_size": 50, "budgets": ["latency <= 8 ms"], "export_onnx": 3}
case("pareto-resume-other-settings", ["pareto", *GOOD, "--out", "prev", "--resume"], _run_folder(_PREV))
case("pareto-plain-run-into-run", ["pareto", *GOOD, "--out", "prev"], _run_folder(_PREV))
case("pareto-resume-corrupt-run-json", ["pareto", *GOOD, "--out", "bad", "--resume"],
     _file("bad/run.json", b"{not json"))

# --- export ------------------------------------------------------------------------------------------
for cid, extra in [
    ("index-too-big", ["--arch", "99999"]), ("index-negative", ["--arch", "-1"]), ("word", ["--arch", "abc"]),
    ("empty", ["--arch", ""]), ("bad-op", ["--arch", "|bad~0|+|none~0|none~1|+|none~0|none~1|none~2|"]),
    ("three-ids", ["--arch", "3,3,3"]), ("op-out-of-range", ["--arch", "5,5,5,5,5,5"]),
    ("short-string", ["--arch", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"]),
    ("bad-input-node", ["--arch", "|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|"]),
    ("dataset", ["--arch", "6111", "--dataset", "nope"]), ("opset-low", ["--arch", "6111", "--opset", "5"]),
    ("opset-high", ["--arch", "6111", "--opset", "21"]), ("opset-word", ["--arch", "6111", "--opset", "x"]),
    ("space", ["--arch", "6111", "--space", "nope"]), ("seed-word", ["--arch", "6111", "--seed", "x"]),
]:
    case(f"export-{cid}", ["export", *extra, "-o", "net.onnx"])
case("export-out-dir", ["export", "--arch", "6111", "-o", "adir"], _folder("adir"))
case("export-out-proc", ["export", "--arch", "6111", "-o", "/proc/hwnas-x.onnx"])
case("export-out-etc-file", ["export", "--arch", "6111", "-o", "/etc/hostname/x.onnx"])
case("export-out-missing-folder", ["export", "--arch", "6111", "-o", "missing/x.onnx"])
case("export-out-under-file", ["export", "--arch", "6111", "-o", "afile/x.onnx"], _file("afile"))
case("export-out-empty", ["export", "--arch", "6111", "-o", ""])
case("export-no-output", ["export", "--arch", "6111"])
case("export-no-arch", ["export", "-o", "net.onnx"])

# --- eval proxies -----------------------------------------------------------------------------------
_EV = ["eval", "proxies", "--cache", "c.sqlite", "--sample", "3", "--no-progress"]
for cid, extra in [
    ("dataset", ["--dataset", "nope"]), ("dataset-empty", ["--dataset", ","]), ("sample-zero", ["--sample", "0"]),
    ("sample-huge", ["--sample", "20000"]), ("sample-word", ["--sample", "abc"]), ("seed-negative", ["--seed", "-1"]),
    ("proxy", ["--proxies", "nope"]), ("proxy-empty", ["--proxies", ""]), ("aggregate", ["--aggregate", "nope+x"]),
    ("batch-zero", ["--batch-size", "0"]), ("device", ["--device", "tpu"]), ("out-suffix", ["--out", "x.txt"]),
    ("top-fraction-zero", ["--top-fraction", "0"]), ("top-fraction-two", ["--top-fraction", "2"]),
    ("threads-zero", ["--threads", "0"]), ("inputs-missing", ["--inputs", "nope.npz"]),
    ("space", ["--space", "fbnet"]), ("recompute", ["--recompute", "nope"]),
]:
    case(f"eval-{cid}", [*_EV, *extra])
case("eval-inputs-corrupt", [*_EV, "--inputs", "junk.npz"], _file("junk.npz", _BINARY))

# --- proxies --time ----------------------------------------------------------------------------------
for cid, extra in [
    ("out-without-time", ["--out", "ms.json"]), ("proxies-without-time", ["--proxies", "az_nas"]),
    ("unknown-proxy", ["--time", "--proxies", "nope"]), ("dataset", ["--time", "--dataset", "mnist"]),
    ("archs-zero", ["--time", "--archs", "0"]), ("batch-zero", ["--time", "--batch-size", "0"]),
    ("out-folder", ["--time", "--out", "adir"]),
]:
    case(f"proxies-{cid}", ["proxies", *extra], _folder("adir") if cid == "out-folder" else None)
case("eval-cache-proc", ["eval", "proxies", "--cache", "/proc/hwnas-c.sqlite", "--sample", "3"])
case("eval-cache-etc-file", ["eval", "proxies", "--cache", "/etc/hostname/x", "--sample", "3"])
case("eval-cache-under-file", ["eval", "proxies", "--cache", "afile/c.sqlite", "--sample", "3"], _file("afile"))
case("eval-cache-folder", ["eval", "proxies", "--cache", "adir", "--sample", "3"], _folder("adir"))
case("eval-cache-corrupt", ["eval", "proxies", "--cache", "junk.sqlite", "--sample", "3"],
     _file("junk.sqlite", _BINARY))
case("eval-data-binary-accuracy", [*_EV], _data_dir(_BINARY), _DATA_ENV)
case("eval-data-missing-accuracy", [*_EV], _data_dir(None), _DATA_ENV)
case("eval-data-wrong-columns", [*_EV], _data_dir(b"a,b\n1,2\n"), _DATA_ENV)
case("eval-data-bad-index", [*_EV], _data_dir(b"nb201_index,c100_test\nabc,1\n"), _DATA_ENV)
case("eval-data-bad-value", [*_EV], _data_dir(b"nb201_index,c100_test\n0,lots\n"), _DATA_ENV)
case("eval-data-short", [*_EV], _data_dir(b"nb201_index,c100_test\n0,70.1\n"), _DATA_ENV)
case("eval-data-empty", [*_EV], _data_dir(b""), _DATA_ENV)

# --- data add-hwnasbench -----------------------------------------------------------------------------
case("data-missing-file", ["data", "add-hwnasbench", "nope.pickle"])
case("data-folder", ["data", "add-hwnasbench", "adir"], _folder("adir"))
case("data-malicious-os-system", ["data", "add-hwnasbench", "evil.pickle"], _pickle("evil.pickle", _Evil()))
case("data-malicious-os-system-p4", ["data", "add-hwnasbench", "evil.pickle"], _pickle("evil.pickle", _Evil(), 4))
case("data-malicious-eval", ["data", "add-hwnasbench", "evil.pickle"], _pickle("evil.pickle", _EvilEval()))
case("data-list-pickle", ["data", "add-hwnasbench", "list.pickle"], _pickle("list.pickle", [1, 2, 3]))
case("data-dict-pickle", ["data", "add-hwnasbench", "d.pickle"], _pickle("d.pickle", {"x": 1}))
case("data-text-file", ["data", "add-hwnasbench", "t.pickle"], _file("t.pickle", b"hello\n"))
case("data-empty-file", ["data", "add-hwnasbench", "e.pickle"], _file("e.pickle", b""))
case("data-truncated", ["data", "add-hwnasbench", "tr.pickle"],
     _file("tr.pickle", pickle.dumps({"nb201": {"x": list(range(100))}}, protocol=2)[:40]))

# --- predictors, devices, the command tree -------------------------------------------------------------
for cid, extra in [
    ("device", ["--device", "nope"]), ("metric", ["--device", "raspi4", "--metric", "power"]),
    ("model", ["--device", "raspi4", "--model", "nope"]),
    ("train-size-zero", ["--device", "raspi4", "--train-size", "0"]),
    ("train-size-huge", ["--device", "raspi4", "--train-size", "99999"]),
    ("set-no-equals", ["--device", "raspi4", "--set", "bad"]),
    ("set-unknown", ["--device", "raspi4", "--set", "nope=1"]),
    ("workers-zero", ["--device", "raspi4", "--workers", "0"]),
    ("test-size-zero", ["--device", "raspi4", "--test-size", "0"]),
    ("seed-negative", ["--device", "raspi4", "--seed", "-1"]), ("missing-device", []),
]:
    case(f"predictors-train-{cid}", ["predictors", "train", *extra])
case("devices-kind", ["devices", "--kind", "nope"])
case("command-unknown", ["nope"])
case("option-unknown", ["--nope"])
case("eval-subcommand-unknown", ["eval", "nope"])
case("spaces-extra-argument", ["spaces", "extra"])
case("pareto-no-arguments", ["pareto"])


def _counts() -> dict[str, int]:
    out: dict[str, int] = {}
    for _, argv, _, _ in CASES:
        cmd = " ".join(argv[:2]) if argv and argv[0] in ("eval", "data", "predictors") else (argv[0] if argv else "")
        if cmd.startswith("-") or cmd in ("nope", "spaces") or cmd.split()[-1] == "nope":
            cmd = "(command tree)"
        out[cmd] = out.get(cmd, 0) + 1
    return out


def test_corpus_is_large_and_spans_the_commands():
    counts = _counts()
    assert len(CASES) >= 100, counts
    assert len({cid for cid, *_ in CASES}) == len(CASES), "duplicate case ids"
    for cmd in ("pareto", "export", "eval proxies", "data add-hwnasbench", "predictors train"):
        assert counts.get(cmd, 0) >= 5, counts


# --- what must not change ------------------------------------------------------------------------------
def _snapshot() -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file in the places hwnas could write to outside the tmp folder."""
    import hwnas

    roots = [Path(hwnas.__file__).parent / "_data", Path("/etc")]
    data = find_data_dir()
    if data is not None and data.is_dir():
        roots.append(data)
    home = Path.home()
    roots += [home / ".local" / "share" / "hwnas", home / ".cache" / "hwnas"]
    out: dict[str, tuple[int, int]] = {}
    for root in roots:
        if not root.exists():
            out[str(root)] = (-1, -1)
            continue
        for dirpath, _, files in os.walk(root):
            for f in files:
                p = os.path.join(dirpath, f)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                out[p] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def outside_before():
    return _snapshot()


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """cwd = a fresh tmp folder; every hwnas home/cache folder points inside it."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for var, sub in (("HWNAS_HOME", "home"), ("HWNAS_CACHE_DIR", "cache"), ("XDG_DATA_HOME", "xdg-data"),
                     ("XDG_CACHE_HOME", "xdg-cache")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    return work


@pytest.mark.parametrize("cid,argv,setup,env", CASES, ids=[c[0] for c in CASES])
def test_bad_invocation_is_one_line_exit_2(cid, argv, setup, env, sandbox, monkeypatch, capsys, outside_before):
    if setup is not None:
        setup(sandbox)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, str(sandbox / v) if k == "HWNAS_DATA_DIR" else v)
    capsys.readouterr()
    start = time.perf_counter()
    code = main(argv)
    took = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    assert code == 2, f"exit {code}; stderr: {err!r}; stdout: {out[-500:]!r}"
    assert err.startswith("hwnas: error:") and err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert took < 20, f"{cid} took {took:.1f} s: it should fail during validation"
    assert not (sandbox / "PWNED").exists() and not (sandbox / "PWNED2").exists(), "a pickle ran code"
    if cid.startswith("pareto-") and cid not in ("pareto-archive-corrupt", "pareto-archive-text",
                                                 "pareto-archive-foreign-table"):
        # refused before any work: no run record, no archive
        assert not list(sandbox.rglob("archive.sqlite")) or setup is not None
        assert not (sandbox / "runs").exists()


def test_nothing_outside_the_tmp_folder_changed(outside_before):
    # runs after the corpus (file order): the places hwnas could write to are as they were
    after = _snapshot()
    changed = sorted(k for k in set(after) | set(outside_before) if after.get(k) != outside_before.get(k))
    assert not changed, changed[:10]


def test_corrupt_archive_leaves_no_run_record(sandbox, capsys):
    (sandbox / "junk").mkdir()
    (sandbox / "junk" / "archive.sqlite").write_bytes(_BINARY)
    assert main(["pareto", *GOOD, "--out", "junk"]) == 2
    assert "archive" in capsys.readouterr().err
    assert not (sandbox / "junk" / "run.json").exists()  # so a plain rerun is not refused for a run that never was


def test_python_api_validates_like_the_cli_and_names_parameters(tmp_path):
    import hwnas
    from hwnas.errors import HwnasUsageError

    for kw, needle in [
        (dict(energy_mj="20"), "energy_mj='20'"), (dict(evaluations=2.5), "evaluations=2.5"),
        (dict(seed=-1), "seed=-1"), (dict(latency="5Ms"), "latency='5Ms'"), (dict(energy="20MJ"), "megajoules"),
        (dict(latency_ms=float("inf")), "not finite"), (dict(out=""), "out=''"), (dict(workers=0), "workers=0"),
        (dict(pop_size=True), "pop_size=True"), (dict(resume=True, overwrite=True), "resume=True"),
        (dict(energy="20mJ", energy_mj=20), "energy_mj="), (dict(export_onnx=-1), "export_onnx=-1"),
        (dict(resume="yes"), "resume='yes'"),
    ]:
        with pytest.raises(HwnasUsageError) as exc:
            hwnas.pareto(device="jetson-tx2", **({"out": tmp_path / "o"} | kw))
        msg = str(exc.value)
        assert needle in msg and "\n" not in msg, (kw, msg)
        assert "--" not in msg, f"the Python API names parameters, not flags: {msg}"
    assert not (tmp_path / "o").exists()


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hwnas", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_subprocess_bad_input_and_bare_hwnas(tmp_path):
    r = _cli("pareto", "--device", "raspi4", "--latency", "5", "ms", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("hwnas: error:") and '"5 ms"' in r.stderr
    r = _cli(cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == "" and "Usage: hwnas" in r.stdout and "pareto" in r.stdout
    assert list(tmp_path.iterdir()) == []
