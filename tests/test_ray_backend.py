"""``--ray`` (search/ray_backend.py): the same scores as ``--workers 1`` / ``--workers 2``, a
failing or hanging architecture retried once then recorded as failed (off the front, not
archived), and the usage errors. The Ray tests start a local instance (``local:2``) through the
backend and skip where ray is not installed (``pip install 'hwnas[ray]'``)."""

from __future__ import annotations

import json
import socket
import sqlite3
import sys

import numpy as np
import pytest

import hwnas
from hwnas.cli import main
from hwnas.errors import HwnasUsageError

try:
    import ray  # noqa: F401

    HAVE_RAY = True
except ImportError:
    HAVE_RAY = False
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="ray is not installed (pip install 'hwnas[ray]')")

# six NB201 classes scored live (synflow at batch 4: tens of ms each); nsga2's first generation
KW = dict(device="raspi4", latency="8ms", proxy="synflow", batch_size=4, evaluations=6, pop_size=6, seed=3,
          shipped_scores=False, algorithm="nsga2")


@pytest.fixture
def one_thread():
    """The in-process (``workers=1``) run at one torch thread, as pool and Ray workers run: on a
    shared 2-core machine more threads only oversubscribe it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@needs_ray
def test_same_scores_with_workers_1_workers_2_and_ray_local(tmp_path, one_thread):
    import ray

    one = hwnas.pareto(out=tmp_path / "one", **KW)
    two = hwnas.pareto(out=tmp_path / "two", workers=2, **KW)
    on_ray = hwnas.pareto(out=tmp_path / "ray", ray="local:2", **KW)
    assert not ray.is_initialized()  # hwnas started the local instance, and shut it down
    for res in (one, two, on_ray):
        assert res.run["scoring"]["computed"] == 6 and res.run["scoring"]["failed"] == 0
    for res in (two, on_ray):
        assert res.evaluated["arch_index"].tolist() == one.evaluated["arch_index"].tolist()
        assert np.allclose(res.evaluated["synflow"], one.evaluated["synflow"], rtol=1e-6, atol=0)
        assert res.front["arch_index"].tolist() == one.front["arch_index"].tolist()
    assert one.run["scoring"]["backend"] == {"kind": "serial"}
    assert two.run["scoring"]["backend"] == {"kind": "processes", "workers": 2}
    backend = json.loads((tmp_path / "ray" / "run.json").read_text())["scoring"]["backend"]
    assert backend["kind"] == "ray" and backend["address"] == "local:2" and backend["cluster_cpus"] == 2
    assert backend["started_local_instance"] and backend["retried"] == 0


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance (2 CPUs) started through the backend for the tests below: a backend
    made while it runs uses it and leaves it running."""
    from hwnas.search.ray_backend import RayBackend

    backend = RayBackend("local:2")
    assert backend.started and backend.cpus() == 2
    yield backend
    backend.close()
    import ray

    assert not ray.is_initialized()


@needs_ray
def test_a_failing_architecture_is_retried_once_then_failed_off_the_front_and_not_archived(
        tmp_path, monkeypatch, local_ray, one_thread):
    import hwnas.search.scoring as scoring

    good = hwnas.pareto(out=tmp_path / "good", ray="local", **KW)
    bad = int(good.front["class_rep"].iloc[0])  # the best front member fails on the second run
    calls = tmp_path / "calls.txt"
    real = scoring._score_one

    def fails_for_one(job):  # a closure: Ray ships it to its workers by value
        if job[0] == bad:
            with open(calls, "a") as fh:
                fh.write("x\n")
            raise RuntimeError("boom")
        return real(job)

    monkeypatch.setattr(scoring, "_score_one", fails_for_one)
    res = hwnas.pareto(out=tmp_path / "failed", ray="local", **KW)
    assert calls.read_text().count("x") == 2  # tried, then retried once
    assert res.run["scoring"]["failed"] == 1 and res.run["scoring"]["computed"] == 5
    assert res.run["scoring"]["backend"]["retried"] == 1 and res.run["scoring"]["backend"]["failed"] == 1
    assert not res.run["scoring"]["backend"]["started_local_instance"]  # the fixture's instance, left running
    row = res.evaluated[res.evaluated["class_rep"] == bad].iloc[0]
    assert row["excluded"] == "failed: RuntimeError: boom (2 attempts)" and row["score_origin"] == "failed"
    assert np.isnan(row["synflow"]) and not row["on_front"]
    assert bad not in res.front["class_rep"].tolist()
    assert res.run["excluded_evaluated"].get("failed") == 1
    db = sqlite3.connect(str(tmp_path / "failed" / "archive.sqlite"))
    assert db.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0] == 5  # the failure is not archived
    db.close()
    monkeypatch.setattr(scoring, "_score_one", real)
    again = hwnas.pareto(out=tmp_path / "failed", resume=True, **KW)  # a rerun scores it (serially here)
    assert again.run["scoring"]["computed"] == 1 and again.run["scoring"]["from_archive"] == 5
    assert again.front["arch_index"].tolist() == good.front["arch_index"].tolist()


@needs_ray
def test_a_job_past_the_timeout_is_cancelled_retried_once_then_failed(local_ray):
    from hwnas.search.ray_backend import RayBackend

    def _sleeps_for_7(job):  # a closure: shipped by value (the test module is not importable in workers)
        import time

        if job[0] == 7:
            time.sleep(60)
        return job[0], {"x": float(job[0])}, 0.0

    backend = RayBackend("local", timeout_s=4.0)
    out = {i: (s, e) for i, s, _, e in backend.run([(i,) for i in range(6, 10)], _sleeps_for_7)}
    assert {i: s for i, (s, e) in out.items() if not e} == {6: {"x": 6.0}, 8: {"x": 8.0}, 9: {"x": 9.0}}
    assert out[7][1] == "timed out after 4 s (2 attempts)"
    assert backend.retried == 1 and backend.failed == 1
    backend.close()  # joined the fixture's instance: left running
    import ray

    assert ray.is_initialized()


# --- usage errors: one line, exit 2, before any work --------------------------------------------------
def test_ray_with_workers_is_a_usage_error(tmp_path, capsys):
    code = main(["pareto", "--device", "raspi4", "--latency", "8ms", "--ray", "local", "--workers", "2",
                 "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--ray" in err and "--workers" in err
    with pytest.raises(HwnasUsageError, match="ray= or workers="):
        hwnas.pareto(device="raspi4", latency="8ms", ray="local", workers=2, out=tmp_path / "y")
    with pytest.raises(HwnasUsageError, match="ray_timeout="):
        hwnas.pareto(device="raspi4", latency="8ms", ray="local", ray_timeout=0, out=tmp_path / "y")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


@needs_ray
def test_unreachable_address_is_one_line_naming_it(tmp_path, capsys):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"127.0.0.1:{port}"
    code = main(["pareto", "--device", "raspi4", "--latency", "8ms", "--ray", address, "--no-shipped-scores",
                 "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and address in err and "cannot reach" in err
    assert not (tmp_path / "x").exists()
    code = main(["pareto", "--device", "raspi4", "--latency", "8ms", "--ray", "local:0", "--out", str(tmp_path / "x")])
    assert code == 2 and "local:N" in capsys.readouterr().err


def test_without_ray_installed_the_error_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    code = main(["pareto", "--device", "raspi4", "--latency", "8ms", "--ray", "local", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.endswith("--ray needs the optional extra: pip install 'hwnas[ray]'")
    assert len(err.splitlines()) == 1 and not (tmp_path / "x").exists()
