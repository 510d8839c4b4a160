"""`hwnas pareto` a newcomer can trust: resume checks settings and never clobbers a run, stale
ONNX files never survive, cells whose output ignores the input and non-finite scores stay off
the front, every evaluation is archived as it completes, console tables keep their units and
mark each value's source, energy shows the latency it rests on, budgets are strict about
units, and the archive is listed with the artefacts. Small runs (params proxy, tens of
evaluations) keep each test to a few seconds."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hwnas
from hwnas.cli import main
from hwnas.errors import HwnasUsageError
from hwnas.search.budget import parse_budget
from hwnas.spaces import get_space

SP = get_space("nb201")
PI = ["pareto", "--device", "raspi4", "--latency", "8ms", "--proxy", "params", "--evaluations", "60",
      "--pop-size", "20", "-q"]


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code: int, err: str) -> None:
    assert code == 2 and err.startswith("hwnas: error:") and err.count("\n") == 1 and "Traceback" not in err, err


# --- 1. resume checks settings; a run is never overwritten silently; stale exports go ----------------
def test_resume_refuses_other_settings_and_plain_run_refuses_a_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(capsys, *PI, "--dataset", "cifar10", "--export-onnx", "1", "--out", "pi")
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in (tmp_path / "pi").rglob("*") if p.is_file() and p.suffix != ".sqlite"}
    assert [p.name for p in (tmp_path / "pi" / "onnx").iterdir()][0].endswith("_cifar10.onnx")

    code, _, err = _cli(capsys, *PI, "--out", "pi", "--resume")  # cifar100 now, no export
    _one_line_error(code, err)
    assert "pi holds a run with other settings" in err and "dataset: cifar10 vs cifar100" in err
    assert "export-onnx: 1 vs 0" in err and "another --out" in err

    code, _, err = _cli(capsys, *PI, "--dataset", "cifar10", "--export-onnx", "1", "--out", "pi")  # no --resume
    _one_line_error(code, err)
    assert "already holds a run" in err and "--resume" in err and "--overwrite" in err
    after = {p.name: p.read_bytes() for p in (tmp_path / "pi").rglob("*") if p.is_file() and p.suffix != ".sqlite"}
    assert after == before  # nothing touched by the refusals

    # the same settings resume (served from the archive, same front)
    code, _, err = _cli(capsys, *PI, "--dataset", "cifar10", "--export-onnx", "1", "--out", "pi", "--resume")
    assert code == 0, err
    assert (tmp_path / "pi" / "pareto.csv").read_bytes() == before["pareto.csv"]
    run = json.loads((tmp_path / "pi" / "run.json").read_text())
    assert run["status"] == "complete" and run["scoring"]["computed"] == 0

    # --overwrite replaces it: a cifar100 run without exports leaves no cifar10 ONNX file behind
    code, _, err = _cli(capsys, *PI, "--out", "pi", "--overwrite")
    assert code == 0, err
    run = json.loads((tmp_path / "pi" / "run.json").read_text())
    assert run["dataset"] == "cifar100" and run["onnx_exports"] == []
    assert list((tmp_path / "pi" / "onnx").glob("*.onnx")) == []


def test_stale_onnx_files_are_removed_only_onnx(tmp_path):
    out = tmp_path / "o"
    (out / "onnx").mkdir(parents=True)
    (out / "onnx" / "nb201_1_cifar10.onnx").write_bytes(b"old export")
    (out / "onnx" / "notes.txt").write_text("mine")
    res = hwnas.pareto(device="raspi4", latency="8ms", proxy="params", evaluations=40, pop_size=20, out=out,
                       export_onnx=1)
    names = sorted(p.name for p in (out / "onnx").iterdir())
    exported = Path(res.run["onnx_exports"][0]["path"]).name
    assert names == sorted([exported, "notes.txt"])
    assert res.run["onnx_removed"] == ["nb201_1_cifar10.onnx"]


def test_resume_from_python_names_parameters(tmp_path):
    kw = dict(device="raspi4", latency="8ms", proxy="params", evaluations=30, pop_size=10, out=tmp_path / "r")
    hwnas.pareto(**kw)
    with pytest.raises(HwnasUsageError, match=r"seed: 0 vs 1.*another out=") as exc:
        hwnas.pareto(**kw | {"seed": 1}, resume=True)
    assert "--" not in str(exc.value)
    with pytest.raises(HwnasUsageError, match=r"resume=True.*overwrite=True"):
        hwnas.pareto(**kw)


# --- 2. degenerate cells and non-finite scores stay off the front --------------------------------------
def test_output_ignores_input_from_the_genotype():
    from hwnas.search.problem import output_ignores_input

    for i in (7371, 14715, 7001):
        assert output_ignores_input(SP.arch_at(i).genotype), i
    for i in (6111, 0, 15624):
        assert not output_ignores_input(SP.arch_at(i).genotype), i
    assert output_ignores_input((0, 0, 0, 0, 0, 0)) and not output_ignores_input((0, 0, 0, 1, 0, 0))
    assert output_ignores_input((3, 0, 0, 0, 0, 3))  # node 1 reached, but nothing leaves it for node 3
    assert not output_ignores_input((3, 0, 3, 0, 0, 3))  # 0 -> 1 -> 2 -> 3
    dead = [i for i in range(SP.num_archs) if output_ignores_input(SP.arch_at(i).genotype)]
    assert len(dead) == 341
    # a property of the function, so of the isomorphism class
    from hwnas.spaces.nb201 import representative_indices

    reps = representative_indices()
    assert all(output_ignores_input(SP.arch_at(int(reps[i])).genotype) for i in dead)


def test_pixel3_params_front_has_no_degenerate_cells(tmp_path):
    from hwnas.search.problem import output_ignores_input

    kw = dict(device="pixel3", latency="5ms", proxy="params")
    res = hwnas.pareto(out=tmp_path / "after", **kw)
    assert len(res.front) >= 3
    assert not any(output_ignores_input(SP.arch_at(int(i)).genotype) for i in res.front["arch_index"])
    ev = res.evaluated
    dead = ev[ev["excluded"] == "output ignores input"]
    assert len(dead) >= 1 and all(output_ignores_input(SP.arch_at(int(i)).genotype) for i in dead["arch_index"])
    assert not dead["on_front"].any()
    csv = (tmp_path / "after" / "all_evaluated.csv").read_text()
    assert "excluded" in csv.splitlines()[0] and "output ignores input" in csv
    assert res.run["excluded_evaluated"]["output ignores input"] == len(dead)
    # what the front used to be: with keep_degenerate the cheap dead cells dominate it
    before = hwnas.pareto(out=tmp_path / "before", keep_degenerate=True, **kw)
    assert any(output_ignores_input(SP.arch_at(int(i)).genotype) for i in before.front["arch_index"])


def test_non_finite_scores_never_reach_the_front(tmp_path, monkeypatch):
    import hwnas.search.scoring as scoring

    real = scoring._static_scores

    def some_minus_inf(space, index, dataset, proxies):
        out = real(space, index, dataset, proxies)
        return {k: (-np.inf if int(index) % 3 == 0 else v) for k, v in out.items()}

    monkeypatch.setattr(scoring, "_static_scores", some_minus_inf)
    res = hwnas.pareto(device="raspi4", latency="8ms", proxy="params", evaluations=60, pop_size=20,
                       out=tmp_path / "inf")
    assert np.isfinite(res.front["score"]).all() and np.isfinite(res.front["params"]).all()
    bad = res.evaluated[~np.isfinite(res.evaluated["params"])]
    # a dead cell says so first; every other -inf one is excluded for its score
    assert "non-finite score (params = -inf)" in set(bad["excluded"])
    assert set(bad["excluded"]) <= {"non-finite score (params = -inf)", "output ignores input"}
    front = json.loads((tmp_path / "inf" / "pareto.json").read_text())["front"]
    assert all(f["score"] is not None for f in front)


# --- 3. every completed evaluation is archived, in batches ---------------------------------------------------
def test_interrupted_run_keeps_each_evaluation_and_resumes_identically(tmp_path, monkeypatch):
    import hwnas.search.scoring as scoring

    kw = dict(device="raspi4", latency="8ms", proxy="params", evaluations=50, pop_size=20, seed=5)
    full = hwnas.pareto(out=tmp_path / "full", **kw)
    real = scoring._score_one
    calls = {"n": 0}

    def dies_after_seven(job):
        if calls["n"] == 7:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real(job)

    monkeypatch.setattr(scoring, "_score_one", dies_after_seven)
    with pytest.raises(KeyboardInterrupt):
        hwnas.pareto(out=tmp_path / "killed", **kw)
    archive = tmp_path / "killed" / "archive.sqlite"
    n = sqlite3.connect(str(archive)).execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]
    assert n == 7  # mid-generation (pop 20): the pending batch was committed on the way out
    assert json.loads((tmp_path / "killed" / "run.json").read_text())["status"] == "running"
    monkeypatch.setattr(scoring, "_score_one", real)
    resumed = hwnas.pareto(out=tmp_path / "killed", resume=True, **kw)
    assert resumed.run["scoring"]["from_archive"] == 7 and resumed.run["scoring"]["computed"] == 43
    assert (tmp_path / "killed" / "pareto.csv").read_text() == (tmp_path / "full" / "pareto.csv").read_text()
    assert resumed.evaluated["arch_index"].tolist() == full.evaluated["arch_index"].tolist()


def test_computed_evaluations_are_archived_in_batches(tmp_path, monkeypatch):
    """One transaction per batch (at most `ARCHIVE_BATCH` results), not per evaluation; every
    computed evaluation is in the archive when the run ends."""
    from hwnas.search.archive import Archive
    from hwnas.search.scoring import ARCHIVE_BATCH

    sizes: list[int] = []
    real = Archive.store

    def counted(self, space, dataset, setting, items):
        sizes.append(len(items))
        return real(self, space, dataset, setting, items)

    monkeypatch.setattr(Archive, "store", counted)
    monkeypatch.setattr("hwnas.search.scoring.ARCHIVE_BATCH_S", 3600.0)  # batches by count only here
    res = hwnas.pareto(device="raspi4", latency="8ms", proxy="params", evaluations=150, pop_size=100, seed=5,
                       out=tmp_path / "run")
    computed = res.run["scoring"]["computed"]
    archive = tmp_path / "run" / "archive.sqlite"
    assert sqlite3.connect(str(archive)).execute("SELECT COUNT(*) FROM evaluations").fetchone()[0] == computed
    assert computed > 100 and sum(sizes) == computed
    assert max(sizes) <= ARCHIVE_BATCH and len(sizes) <= 4  # 100 + 50: 64 + 36 + 50


# --- 4. the score's scale is described ----------------------------------------------------------------
def test_pareto_json_says_what_the_aggregate_is_ranked_against(tmp_path):
    """Default setting (the shipped table holds it): a fixed scale, all classes; a rank aggregate
    the table does not hold (params,flops): a fixed reference sample, or with ``reference_sample=0``
    relative to the evaluated set, and pareto.json says so."""
    res = hwnas.pareto(device="raspi4", latency="8ms", evaluations=40, pop_size=20, algorithm="nsga2",
                       out=tmp_path / "az")
    doc = json.loads((tmp_path / "az" / "pareto.json").read_text())
    assert "fixed scale" in doc["columns"]["score"] and "all_evaluated.csv" in doc["columns"]["score"]
    assert doc["score_reference"]["population"] == "shipped score table"
    for c in ("jacob_cov", "meco", "swap"):
        assert c in res.evaluated.columns  # the absolute components of the default
    fixed = hwnas.pareto(device="raspi4", latency="8ms", proxy="params,flops", evaluations=40, pop_size=20,
                         out=tmp_path / "ps")
    doc = json.loads((tmp_path / "ps" / "pareto.json").read_text())
    assert "fixed scale" in doc["columns"]["score"] and "a fixed sample of" in doc["columns"]["score"]
    assert fixed.run["score_reference"]["population"] == "fixed reference sample"
    assert fixed.run["score_reference"]["drawn"] == 100
    rel = hwnas.pareto(device="raspi4", latency="8ms", proxy="params,flops", evaluations=40, pop_size=20,
                       reference_sample=0, out=tmp_path / "pf")
    doc = json.loads((tmp_path / "pf" / "pareto.json").read_text())
    assert "relative to that set" in doc["columns"]["score"]
    assert rel.run["score_reference"] == doc["score_reference"]
    assert doc["score_reference"]["population"] == "evaluated set" and doc["score_reference"]["size"] == 40


# --- 5. console tables: units survive, every value says where it came from ------------------------------
def test_console_table_keeps_units_and_marks_sources(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(capsys, *PI, "--out", "pi")
    assert code == 0, err
    assert "latency (ms)" in out and "[ms]" not in out
    assert "cost sources: m measured" in out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert rows and all(" m │" in r for r in rows)


def test_source_columns_use_labels_with_extrapolation(tmp_path):
    from hwnas.devices.costs import cost_table
    from hwnas.commands.pareto import source_mark

    table = cost_table("nb201", "jetson-tx2", "latency")
    res = hwnas.pareto(device="jetson-tx2", latency="6ms", evaluations=100, pop_size=50, out=tmp_path / "tx2")
    ev = res.evaluated
    assert ev["latency_source"].tolist() == [table.label(int(i)) for i in ev["arch_index"]]
    assert {"measured", "predicted"} <= set(ev["latency_source"])
    assert source_mark("predicted, extrapolated") == "px" and source_mark("measured") == "m"
    assert source_mark("estimated") == "e"
    doc = json.loads((tmp_path / "tx2" / "pareto.json").read_text())
    for f in doc["front"]:
        lat = f["costs"]["latency"]
        assert lat["source"] == table.label(f["arch_index"])
        assert lat["extrapolated"] == table.is_extrapolated(f["arch_index"])


# --- 6. energy shows the latency it rests on ----------------------------------------------------------
def test_energy_run_carries_latency_for_reference(tmp_path, capsys, monkeypatch):
    from hwnas.devices.costs import cost_table

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(capsys, "pareto", "--device", "jetson-tx2", "--energy", "20mJ", "--evaluations", "60",
                          "--pop-size", "20", "-q", "--out", "tx2")
    assert code == 0, err
    lat = cost_table("nb201", "jetson-tx2", "latency")
    header = (tmp_path / "tx2" / "pareto.csv").read_text().splitlines()[0].split(",")
    assert "latency_ms" in header and "latency_source" in header and "energy_mJ" in header
    doc = json.loads((tmp_path / "tx2" / "pareto.json").read_text())
    assert doc["front"] and all(o.startswith(("proxy", "energy")) for o in doc["objectives"])
    for f in doc["front"]:
        c = f["costs"]["latency"]
        assert c["objective"] is False and c["value"] == pytest.approx(lat.values[f["arch_index"]])
        assert c["source"] == lat.label(f["arch_index"]) and f["costs"]["energy"]["objective"] is True
    assert "latency (ms)*" in out and "energy (mJ)" in out and "not an objective" in out
    # each member's bound, what the 20 mJ budget was checked against: never below the value, within budget
    front = pd.read_csv(tmp_path / "tx2" / "pareto.csv")
    assert (front["energy_mJ_bound"] >= front["energy_mJ"] - 1e-12).all() and (front["energy_mJ_bound"] <= 20).all()
    energy = cost_table("nb201", "jetson-tx2", "energy")
    for f in doc["front"]:
        assert f["costs"]["energy"]["budget_bound"] == pytest.approx(energy.budget_values()[f["arch_index"]])
    if (front["energy_mJ_bound"] > front["energy_mJ"] * 1.005).any():
        assert "energy bound" in out and "what the budget is checked against" in out
    run = json.loads((tmp_path / "tx2" / "run.json").read_text())
    assert "latency" in run["reference_costs"] and "latency" not in run["settings"]["objectives"]


# --- 7. budgets: case-sensitive units, finite amounts, one flag each ----------------------------------
@pytest.mark.parametrize("text,metric,needle", [
    ("20MJ", "energy", "megajoules"), ("5Ms", "latency", "megaseconds"), ("20mj", "energy", "did you mean mJ"),
    ("1e400mJ", "energy", "not finite"), ("5 ns", "latency", "unknown unit"),
    ("5ms", "energy", "is a latency, not an energy"),
    ("20mJ", "latency", "is an energy, not a latency"),
])
def test_budget_units_are_strict(text, metric, needle):
    with pytest.raises(HwnasUsageError, match=needle):
        parse_budget(text, metric)


@pytest.mark.parametrize("text,limit", [("5 µs", 0.005), ("5μs", 0.005), ("5us", 0.005), ("0.5 s", 500.0)])
def test_budget_units_accepted(text, limit):
    assert parse_budget(text, "latency").limit == pytest.approx(limit)


def test_budget_flags_once_and_quoted(capsys):
    code, _, err = _cli(capsys, "pareto", "--device", "jetson-tx2", "--energy", "20mJ", "--energy", "10mJ")
    _one_line_error(code, err)
    assert "--energy given 2 times" in err
    code, _, err = _cli(capsys, "pareto", "--device", "raspi4", "--latency", "5", "ms")
    _one_line_error(code, err)
    assert '--latency "5 ms"' in err and "5ms" in err


# --- 9 / 10. notes and the archive among the artefacts --------------------------------------------------
def test_archive_is_listed_and_evaluations_note(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(capsys, *PI, "--out", "pi")
    assert code == 0, err
    wrote = [line for line in out.splitlines() if line.startswith("wrote ")]
    assert wrote and "archive.sqlite" in wrote[0]
    res = hwnas.pareto(device="raspi4", latency="8ms", proxy="params", evaluations=30, pop_size=10,
                       out=tmp_path / "api")
    assert res.paths["archive"] == tmp_path / "api" / "archive.sqlite" and res.paths["archive"].is_file()
    from hwnas.search.run import SearchConfig, _evaluations_note

    cfg = SearchConfig(device="raspi4", evaluations=10_000)
    note = _evaluations_note(cfg, "nsga2", 6466, 6466, "nb201")
    assert "--evaluations 10,000 is more than the 6,466 isomorphism classes" in note
    assert _evaluations_note(cfg, "exhaustive", 6466, 6466, "nb201") is None
