"""How well the search score is known where it is used (`hwnas.search.score_quality`): the shipped
figures cover every setting the shipped table serves by default, a run prints and records them,
they agree with the ground truth, and settings without a measurement say how to measure one."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.cli import main

DEFAULT = ("jacob_cov", "meco", "swap")


def _setting(proxies, seed=0, batch=64):
    from hwnas.eval import version_tag
    from hwnas.search.archive import ScoreSetting

    return ScoreSetting(tuple(proxies), seed, batch, version_tag())


def test_the_default_is_measured_on_every_dataset_at_the_batch_a_run_uses():
    from hwnas.search.run import default_batch_size, default_proxy
    from hwnas.search.score_quality import measured_entries, score_quality, shipped_quality

    assert shipped_quality()["command"] == "python scripts/build_score_quality.py"
    for dataset in ("cifar10", "cifar100", "imagenet16-120"):
        proxies, batch = tuple(default_proxy("nb201").split(",")), default_batch_size(dataset)
        [entry] = [e for e in measured_entries("nb201", dataset, proxies) if e["batch_size"] == batch and e["seed"] == 0]
        assert entry["default"] and entry["searches"] == 16
        assert 0.7 < entry["tau"] < 0.9 and 0 < entry["top5_tau"] < entry["tau"]
        assert 0 <= entry["best_of_front_regret"] <= entry["top1_regret"]
        q = score_quality("nb201", dataset, _setting(proxies, 0, batch))
        assert q["measured"] and q["tau"] == entry["tau"]
        assert f"Kendall tau {entry['tau']:.3f} with {dataset} test accuracy" in q["note"]
        assert f"{entry['top1_regret']:.2f} accuracy points" in q["note"]


def test_unmeasured_settings_say_so_and_how_to_measure_them():
    from hwnas.search.score_quality import score_quality

    assert score_quality("fbnet", "cifar100", _setting(DEFAULT)) is None  # no ground truth: accuracy_note
    other_batch = score_quality("nb201", "cifar100", _setting(DEFAULT, batch=48))
    assert not other_batch["measured"]
    assert "not measured at seed 0, batch 48; at seed 0, batch 64: Kendall tau 0.7" in other_batch["note"]
    assert "`hwnas eval proxies --dataset cifar100 --proxies jacob_cov+meco+swap --batch-size 48 --seed 0`" in other_batch["note"]
    other_seed = score_quality("nb201", "cifar100", _setting(DEFAULT, seed=3))
    assert not other_seed["measured"] and "not measured at seed 3, batch 64" in other_seed["note"]
    never = score_quality("nb201", "imagenet16-120", _setting(("params", "flops")))
    assert not never["measured"] and "not measured for this setting" in never["note"]
    assert "--proxies params+flops" in never["note"]


def test_probe_batches_measured_on_a_sample_quote_that_sample():
    from hwnas.search.score_quality import score_quality, shipped_quality

    [entry] = [e for e in shipped_quality()["sample_entries"] if e["dataset"] == "imagenet16-120"
               and e["batch_size"] == 32 and e["proxies"] == sorted(DEFAULT)]
    q = score_quality("nb201", "imagenet16-120", _setting(DEFAULT, batch=32))
    assert q["measured"] and q["tau"] == entry["tau"] and "fixed 1,000-network sample" in q["note"]
    assert f"at batch 64 on the same sample: {entry['tau_at_batch_64']:.3f}, over all 15,625 networks at batch 64: 0.758" \
        in q["note"] and "the search regret was not measured at this batch" in q["note"]


def test_a_run_records_and_prints_the_measured_quality_of_its_score(isolated_home, tmp_path, capsys):
    """The main command's line, and the figure itself recomputed from the run's own scores and
    the benchmark's accuracy (where the data folder is present)."""
    import pandas as pd

    from hwnas.search.score_quality import measured_entries

    out = tmp_path / "run"
    assert main(["pareto", "--device", "jetson-tx2", "--energy", "20mJ", "--out", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "score: jacob_cov+meco+swap (the default), seed 0, batch 64: Kendall tau 0.777" in " ".join(printed.split())
    import json

    run = json.loads((out / "run.json").read_text())
    quality = run["score_quality"]
    [entry] = [e for e in measured_entries("nb201", "cifar100", DEFAULT) if e["batch_size"] == 64]
    assert quality["measured"] and quality["tau"] == entry["tau"]
    assert "How well the score is known" in (out / "report.html").read_text()
    assert json.loads((out / "pareto.json").read_text())["score_quality"] == quality

    from hwnas.data import find_data_dir

    root = find_data_dir()
    if root is None or not (root / "nb201" / "accuracy.csv").is_file():
        pytest.skip("measurement data nb201/accuracy.csv not found: the figure is not recomputed")
    from hwnas.eval import load_ground_truth
    from hwnas.eval_metrics import rank_correlations
    from hwnas.spaces.nb201 import representative_indices

    rows = pd.read_csv(out / "all_evaluated.csv")
    by_class = dict(zip(rows["class_rep"].astype(int), rows["score"].astype(float)))
    score = np.array([by_class[int(r)] for r in representative_indices()])
    assert rank_correlations(score, load_ground_truth("cifar100"))[0] == pytest.approx(entry["tau"], abs=1e-12)
