"""Learned proxies (`hwnas.proxies.learned`, ``hwnas proxies fit``): fit on ~100 real labels,
reload parity (numpy trees vs scikit-learn, files vs the fitted model), held-out tau against a
shuffled-label model, determinism under --seed, bad label files (exit 2, one line), and
``--proxies NAME`` / ``--proxy NAME`` resolving in ``hwnas eval proxies`` and a search's scorer.
Ground truth comes from the data folder: these tests skip where it is absent."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.cli import main
from hwnas.errors import HwnasUsageError

N_LABELS = 100


@pytest.fixture
def home(isolated_home, nb201_accuracy_rows):
    import torch

    from hwnas.proxies import learned

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: one thread is fastest, and never oversubscribes
    learned._load.cache_clear()
    learned._predictions.cache_clear()
    yield isolated_home
    learned._load.cache_clear()
    learned._predictions.cache_clear()
    torch.set_num_threads(threads)


def _draw(n: int, seed: int = 1) -> np.ndarray:
    from hwnas.spaces.nb201 import representative_indices

    return np.sort(np.random.default_rng(seed).choice(np.unique(representative_indices()), n, replace=False))


def _write_labels(path, indices, acc) -> str:
    path.write_text("arch,accuracy\n" + "".join(f"{int(i)},{float(a)!r}\n" for i, a in zip(indices, acc)))
    return str(path)


def _held_out_tau(pred: np.ndarray, labelled: np.ndarray, dataset: str) -> float:
    from scipy.stats import kendalltau

    from hwnas.eval_truth import load_ground_truth
    from hwnas.spaces.nb201 import representative_indices

    held = ~np.isin(representative_indices(), labelled)
    return float(kendalltau(pred[held], load_ground_truth(dataset)[held]).statistic)


def test_forest_fit_reload_parity_and_held_out_tau(home, tmp_path):
    from sklearn.ensemble import ExtraTreesRegressor

    from hwnas.eval_truth import load_ground_truth
    from hwnas.proxies import learned
    from hwnas.proxies.learned_features import feature_matrix

    acc = load_ground_truth("cifar100")
    idx = _draw(N_LABELS)
    labels = learned.read_labels(_write_labels(tmp_path / "l.csv", idx, acc[idx]))
    fitted = learned.fit_learned_proxy("my-proxy", labels, "cifar100", "forest", seed=3)
    before = fitted.predict_all()
    # the numpy trees predict what scikit-learn's fitted ensemble predicts
    X = feature_matrix("cifar100")
    sk = ExtraTreesRegressor(**fitted.record["estimator"]["sklearn_params"], random_state=3, n_jobs=1)
    sk.fit(X[idx], acc[idx])
    assert np.allclose(sk.predict(X[:500]), before[:500], rtol=0, atol=1e-9)
    # reloaded from the files (no pickle anywhere): exactly the same predictions
    folder = home / "hwnas-home" / "proxies" / "my-proxy"
    assert sorted(p.name for p in folder.iterdir()) == ["model.npz", "proxy.json"]
    learned._load.cache_clear()
    learned._predictions.cache_clear()
    after = learned.learned_predictions("my-proxy")
    assert np.array_equal(before, after)
    with np.load(folder / "model.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    # same seed, same labels: the same model
    again = learned.fit_learned_proxy("my-proxy-2", labels, "cifar100", "forest", seed=3)
    assert np.array_equal(again.predict_all(), before)
    # it ranks the unlabelled networks; a model fitted on shuffled labels does not
    tau = _held_out_tau(after, idx, "cifar100")
    shuffled = learned.read_labels(_write_labels(tmp_path / "s.csv", idx,
                                                 np.random.default_rng(0).permutation(acc[idx])))
    bad_fit = learned.fit_learned_proxy("shuffled", shuffled, "cifar100", "forest", seed=3)
    bad = bad_fit.predict_all()
    assert tau > 0.6 and _held_out_tau(bad, idx, "cifar100") < 0.3
    # the cross-validated tau the fit reports says so from the labels alone, below the in-sample one
    cv, cv_bad = fitted.record["cv_kendall_tau"], bad_fit.record["cv_kendall_tau"]
    assert tau - 0.2 < cv < tau + 0.1 and cv < fitted.record["train_kendall_tau"] and abs(cv_bad) < 0.25


def test_parzc_fit_and_reload_parity(home, tmp_path):
    from hwnas.eval_truth import load_ground_truth
    from hwnas.proxies import learned

    acc = load_ground_truth("imagenet16-120")
    idx = _draw(N_LABELS, seed=2)
    labels = learned.read_labels(_write_labels(tmp_path / "l.csv", idx, acc[idx]))
    fitted = learned.fit_learned_proxy("my-parzc", labels, "imagenet16-120", "parzc", seed=0)
    before = fitted.predict_all()
    learned._load.cache_clear()
    learned._predictions.cache_clear()
    assert np.array_equal(before, learned.learned_predictions("my-parzc"))
    assert _held_out_tau(before, idx, "imagenet16-120") > 0.5


@pytest.mark.parametrize("body, message", [
    ("arch,accuracy\n99999,50\n", "unknown architecture"),
    ("arch,accuracy\n1,50\n1,51\n", "labelled twice"),
    ("arch,accuracy\n1,nan\n", "not a finite percentage"),
    ("arch,accuracy\n1,150\n", "not a finite percentage"),
    ("arch,acc\n1,50\n", "needs columns arch and accuracy"),
    ("arch,accuracy\n" + "".join(f"{i},50\n" for i in range(5)), "at least 20 classes"),
])
def test_bad_label_files_are_one_line_usage_errors(home, tmp_path, capsys, body, message):
    path = tmp_path / "labels.csv"
    path.write_text(body)
    code = main(["proxies", "fit", "--labels", str(path), "--name", "p1", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1


def test_bad_names_and_missing_files(home, tmp_path, capsys):
    for args in (["--labels", str(tmp_path / "nope.csv"), "--name", "p1"],
                 ["--labels", str(tmp_path / "nope.csv"), "--name", "az_nas"],
                 ["--labels", str(tmp_path / "nope.csv"), "--name", "Bad Name"]):
        assert main(["proxies", "fit", *args]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(HwnasUsageError, match="no learned proxy"):
        from hwnas.proxies.learned import load_learned

        load_learned("never-fitted")


def test_learned_proxy_resolves_in_eval_and_search(home, tmp_path, capsys):
    from hwnas.eval import parse_request
    from hwnas.eval_truth import load_ground_truth
    from hwnas.proxies import get_proxy
    from hwnas.proxies.learned import labelled_members, learned_predictions, served_scores
    from hwnas.spaces.nb201 import representative_indices

    acc = load_ground_truth("cifar100")
    idx = _draw(N_LABELS)
    path = _write_labels(tmp_path / "l.csv", idx, acc[idx])
    assert main(["proxies", "fit", "--labels", path, "--name", "my-proxy", "--no-progress"]) == 0
    capsys.readouterr()
    assert get_proxy("my-proxy").outputs == ("my-proxy",)
    assert parse_request("my-proxy,params+my-proxy").proxies == ("my-proxy", "params")
    out = tmp_path / "r.csv"
    code = main(["eval", "proxies", "--proxies", "my-proxy", "--sample", "300", "--no-progress",
                 "--cache", str(tmp_path / "c.sqlite"), "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "my-proxy" in text and "left out" in text
    rows = out.read_text().splitlines()
    assert rows[0].split(",")[7] == "ndcg" and rows[1].startswith("cifar100,my-proxy,proxy,")
    # the evaluation sample is disjoint from the labelled classes
    held = set(labelled_members(["my-proxy"]).tolist())
    assert set(idx.tolist()) <= held
    # a search looks every class up (hwnas.search.scoring.ProxyScorer routes through served_scores)
    table = served_scores("nb201", "cifar100", ("my-proxy",), 0, 64)
    reps = np.unique(representative_indices())
    assert table is not None and len(table) == reps.size
    assert table[int(reps[5])]["my-proxy"] == learned_predictions("my-proxy")[reps[5]]
    with pytest.raises(HwnasUsageError, match="combines only"):
        served_scores("nb201", "cifar100", ("my-proxy", "snip"), 0, 64)


def test_a_learned_proxy_drives_an_exhaustive_search(home, tmp_path):
    """`--proxy NAME` of a fitted proxy: predicted for every class, so `auto` scores all of them by
    look-up, as with the shipped table."""
    import hwnas
    from hwnas.eval_truth import load_ground_truth
    from hwnas.proxies import learned

    acc = load_ground_truth("cifar100")
    idx = _draw(N_LABELS, seed=4)
    fitted = learned.fit_learned_proxy("mine", learned.read_labels(_write_labels(tmp_path / "l.csv", idx, acc[idx])),
                                       "cifar100", "forest", seed=0)
    res = hwnas.pareto(device="raspi4", latency="8ms", proxy="mine", out=tmp_path / "run")
    assert res.run["algorithm"] == "exhaustive" and res.run["scoring"]["computed"] == 0
    assert res.run["evaluated"] == 6466 and (res.front["latency_ms"] <= 8).all()
    quality = res.run["score_quality"]  # how well the score is known: the fit's cross-validated tau
    assert quality["measured"] and quality["cv_kendall_tau"] == fitted.record["cv_kendall_tau"]
    assert f"learned proxy 'mine' (extra_trees fitted on {N_LABELS} labelled networks of cifar100): Kendall tau " \
           f"{fitted.record['cv_kendall_tau']:.3f}" in quality["note"]


def test_a_refitted_proxy_is_never_served_from_an_earlier_fit(home, tmp_path, capsys):
    """Scores archived for one fit of a name are not served after refitting it under that name:
    the score setting carries the fit's hash, a shared archive scores the refit afresh, and
    resuming a run of the earlier fit is a one-line usage error. Front rows say where a score
    came from: ``labelled`` classes of the labelled set, ``learned`` predictions otherwise."""
    import hwnas
    from hwnas.eval_truth import load_ground_truth
    from hwnas.proxies import learned

    acc = load_ground_truth("cifar100")
    fits = []
    for seed in (4, 5):
        idx = _draw(N_LABELS, seed=seed)
        learned.fit_learned_proxy("mine", learned.read_labels(_write_labels(tmp_path / f"l{seed}.csv", idx, acc[idx])),
                                  "cifar100", "forest", seed=0)
        fits.append(learned.learned_predictions("mine").copy())
        res = hwnas.pareto(device="raspi4", latency="8ms", proxy="mine", archive=tmp_path / "shared.sqlite",
                           out=tmp_path / f"run{seed}")
        ev = res.evaluated.set_index("class_rep")
        assert np.array_equal(ev["mine"].to_numpy(), fits[-1][ev.index.to_numpy()])
        labelled = ev.index.isin(idx)
        assert set(ev.loc[labelled, "score_origin"]) == {"labelled"} and labelled.sum() == N_LABELS
        assert set(ev.loc[~labelled, "score_origin"]) == {"learned"}
    assert not np.array_equal(fits[0], fits[1])
    assert main(["pareto", "--device", "raspi4", "--latency", "8ms", "--proxy", "mine", "--out",
                 str(tmp_path / "run4"), "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert "earlier fit of learned proxy 'mine'" in err and "\n" not in err


def test_features_follow_the_setting_recorded_in_the_proxy_file():
    """A proxy's features come from the table at the setting its file records: the default
    (batch 64 everywhere) and CIFAR-10 at the table's extra batch size 16 both are look-ups, with
    the table's own values."""
    from hwnas.proxies.learned_features import AZ_COLUMNS, AZ_DATASETS, FeatureSetting, _az_features, table_setting
    from hwnas.proxies.table import shipped_scores, table_batch_sizes, table_info
    from hwnas.spaces.nb201 import representative_indices

    info = table_info()
    extra = table_batch_sizes("cifar10")[1:]
    if info is None or not extra:
        pytest.skip("no shipped table holding CIFAR-10 at an extra batch size")
    default = table_setting()
    other = FeatureSetting(default.seed, tuple((d, extra[0] if d == "cifar10" else b) for d, b in default.batch_sizes))
    j = AZ_DATASETS.index("cifar10")
    rep = representative_indices()
    rows = [0, 186, 5000, 15624]
    for setting in (default, other):
        table = shipped_scores("nb201", "cifar10", ("az_nas",), setting.seed, setting.batch_size("cifar10"))
        assert table is not None  # else the features would be scored live
        feats = _az_features(setting, False)
        for i in rows:
            expected = [table[int(rep[i])][c] for c in AZ_COLUMNS]
            np.testing.assert_array_equal(feats[i, 4 * j:4 * j + 4], expected)
    assert not np.array_equal(_az_features(default, False)[:, 4 * j], _az_features(other, False)[:, 4 * j])
