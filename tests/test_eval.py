"""The proxy evaluation harness (`hwnas.eval`) and `hwnas eval proxies`: metrics on hand-made
arrays, the fixed sample, the score cache (round trip, resume), order independence, and scores
checked against direct computation on real NAS-Bench-201 networks (cheap proxies only)."""

from __future__ import annotations

import json
import math

import click
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hwnas import eval as ev
from hwnas.commands.eval_proxies import eval_group
from hwnas.errors import HwnasUsageError
from hwnas.init import arch_seed
from hwnas.proxies import nonlinear_rank_aggregate, score_all
from hwnas.spaces import get_space

torch.set_num_threads(1)

ARCHS = [6111, 0, 12345]  # in an unsorted order on purpose
CHEAP = ["params", "flops", "synflow"]
DS = "imagenet16-120"  # 16x16 input: the cheapest real networks


# --- metrics on hand-made arrays ------------------------------------------------------------------
def test_rank_correlations_of_perfect_and_reversed_rankings():
    acc = np.array([50.0, 60.0, 70.0, 80.0, 90.0])
    assert ev.rank_correlations(acc / 10, acc) == pytest.approx((1.0, 1.0))
    assert ev.rank_correlations(-acc, acc) == pytest.approx((-1.0, -1.0))
    # one swapped pair of 5: Kendall (C - D) / 10 = (9 - 1) / 10, Spearman 1 - 6 * 2 / (5 * 24)
    assert ev.rank_correlations([1, 2, 4, 3, 5], acc) == pytest.approx((0.8, 0.9))
    assert all(math.isnan(v) for v in ev.rank_correlations([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    assert all(math.isnan(v) for v in ev.rank_correlations([1.0], [1.0]))


def test_non_finite_scores_rank_last_and_tie():
    acc = np.array([10.0, 20.0, 30.0, 40.0])
    # -inf and NaN both rank below every finite score: the worst architecture has it -> perfect
    assert ev.rank_correlations([-np.inf, 1.0, 2.0, 3.0], acc) == pytest.approx((1.0, 1.0))
    assert ev.rank_correlations([np.nan, 1.0, 2.0, 3.0], acc) == pytest.approx((1.0, 1.0))
    # the best architecture has it -> it is treated as the worst score
    tau, _ = ev.rank_correlations([1.0, 2.0, 3.0, -np.inf], acc)
    assert tau == pytest.approx(0.0)
    # -inf and NaN tie with each other: same result whichever is which
    a = ev.rank_correlations([np.nan, -np.inf, 2.0, 3.0], acc)
    b = ev.rank_correlations([-np.inf, np.nan, 2.0, 3.0], acc)
    assert a == b and a[0] < 1.0


def test_top_fraction_selects_the_best_five_percent_of_the_sample():
    rng = np.random.default_rng(0)
    acc = rng.permutation(100).astype(float)
    top = ev.top_fraction(acc)
    assert sorted(acc[top]) == [95.0, 96.0, 97.0, 98.0, 99.0]
    assert list(top) == sorted(top)
    assert len(ev.top_fraction(np.arange(1000.0))) == 50
    assert list(ev.top_fraction(np.arange(10.0))) == [8, 9]  # at least 2
    assert list(ev.top_fraction(np.array([1.0, 3.0, 3.0, 3.0, 0.0]), 0.4)) == [1, 2]  # ties: earlier wins
    with pytest.raises(HwnasUsageError):
        ev.top_fraction(acc, 0.0)


def test_proxy_metrics_of_a_hand_made_evaluation():
    n = 40
    acc = np.linspace(50.0, 90.0, n)
    cols = {"az_expressivity": acc.copy(), "az_progressivity": -acc, "az_trainability": acc ** 2,
            "az_complexity": np.r_[-np.inf, acc[1:]], "synflow": acc[::-1].copy()}
    evaluation = ev.Evaluation(
        "nb201", "cifar100", 0, 64, "cpu", np.arange(n), ev.parse_request("az_nas,synflow,az_nas+synflow"),
        cols, {c: np.full(n, 10.0) for c in cols}, {c: ["shared"] * n if c.startswith("az") else ["s"] * n for c in cols},
        {c: ["az_nas"] * n for c in cols},
    )
    rows = {m.name: m for m in ev.proxy_metrics(evaluation, accuracy=acc)}
    assert list(rows) == ["az_nas", "az_expressivity", "az_progressivity", "az_trainability", "az_complexity",
                          "synflow", "az_nas+synflow"]
    assert rows["az_expressivity"].kendall == pytest.approx(1.0) and rows["az_progressivity"].kendall == pytest.approx(-1.0)
    assert rows["az_complexity"].non_finite == 1 and rows["az_complexity"].kendall == pytest.approx(1.0)
    agg = nonlinear_rank_aggregate({c: cols[c] for c in ev.outputs_of("az_nas")})
    assert (rows["az_nas"].kendall, rows["az_nas"].spearman) == pytest.approx(ev.rank_correlations(agg, acc))
    top = ev.top_fraction(acc)
    assert rows["az_nas"].n_top == len(top) == 2
    assert rows["az_nas"].top_kendall == pytest.approx(ev.rank_correlations(agg[top], acc[top])[0])
    assert rows["az_nas+synflow"].columns == (*ev.outputs_of("az_nas"), "synflow")
    # time of an aggregate: the distinct timed calls it needs, summed (10 ms shared + 10 ms synflow)
    assert rows["az_nas"].median_ms == 10.0 and rows["az_nas+synflow"].median_ms == 20.0
    assert rows["synflow"].kendall == pytest.approx(-1.0)


def test_parse_request_canonicalises_and_rejects_unknown_names():
    req = ev.parse_request("nwot, az-nas ,az_nas+synflow_log", aggregates=["params+flops"])
    assert req.singles == ("naswot", "az_nas")
    assert req.aggregates == (("az_nas+synflow", ("az_nas", "synflow")), ("params+flops", ("params", "flops")))
    assert req.proxies == ("naswot", "az_nas", "synflow", "params", "flops")
    with pytest.raises(HwnasUsageError, match="did you mean synflow"):
        ev.parse_request("synflw")
    with pytest.raises(HwnasUsageError, match="two different"):
        ev.parse_request("synflow+synflow")
    assert ev.proxy_groups(["params", "naswot", "synflow", "az_nas"]) == [("naswot", "az_nas"), ("params",), ("synflow",)]
    assert ev.proxy_groups(["naswot", "az_nas"], separate=True) == [("naswot",), ("az_nas",)]


# --- sample and ground truth ---------------------------------------------------------------------
def test_fixed_sample_is_reproducible_and_matches_the_reference_draw():
    a = ev.fixed_sample(200, 0)
    assert a == ev.fixed_sample(200, 0) and a == sorted(a) and len(set(a)) == 200
    assert set(a) == {int(i) for i in np.random.default_rng(0).choice(15625, 200, replace=False)}
    assert ev.fixed_sample(200, 1) != a
    assert set(ev.fixed_sample(10, 0)) <= set(range(15625))
    with pytest.raises(HwnasUsageError):
        ev.fixed_sample(0, 0)
    with pytest.raises(HwnasUsageError):
        ev.fixed_sample(15626, 0)


def test_load_ground_truth_is_a_usage_error_without_data(tmp_path, monkeypatch):
    monkeypatch.setenv("HWNAS_DATA_DIR", str(tmp_path))
    with pytest.raises(HwnasUsageError, match="accuracy.csv"):
        ev.load_ground_truth("cifar100")


def test_load_ground_truth_reads_the_test_accuracy_columns(nb201_accuracy_rows):
    for dataset, column in (("cifar10", "c10_test"), ("c100", "c100_test"), ("imagenet16-120", "in16_test")):
        acc = ev.load_ground_truth(dataset)
        assert acc.shape == (15625,) and np.all(np.isfinite(acc))
        for row in (nb201_accuracy_rows[0], nb201_accuracy_rows[6111], nb201_accuracy_rows[-1]):
            assert acc[int(row["nb201_index"])] == float(row[column])
    assert ev.load_ground_truth("cifar10")[6111] == pytest.approx(94.37, abs=0.005)  # the best CIFAR-10 cell


# --- the cache ----------------------------------------------------------------------------------------
def test_cache_round_trip_keeps_non_finite_values_and_separates_keys(tmp_path):
    path = tmp_path / "deep" / "scores.sqlite"
    key = ev.CacheKey("nb201", "cifar100", 0, 64, "0.1", "cpu")
    scores = {"a": ev.CachedScore(1.5, 12.0, "c1", "a+b"), "b": ev.CachedScore(-math.inf, 12.0, "c1", "a+b"),
              "c": ev.CachedScore(math.nan, 3.0, "c2", "c")}
    with ev.ScoreCache(path) as cache:
        cache.store(key, 7, scores)
    with ev.ScoreCache(path) as cache:  # a new connection: really on disk
        got = cache.lookup(key, [7, 8], ["a", "b", "c", "d"])
        assert set(got) == {(7, "a"), (7, "b"), (7, "c")}
        assert got[(7, "a")] == scores["a"] and got[(7, "b")].value == -math.inf
        assert math.isnan(got[(7, "c")].value) and got[(7, "c")].call == "c2"
        for other in (ev.CacheKey("nb201", "cifar10", 0, 64, "0.1", "cpu"), ev.CacheKey("nb201", "cifar100", 1, 64, "0.1", "cpu"),
                      ev.CacheKey("nb201", "cifar100", 0, 16, "0.1", "cpu"), ev.CacheKey("nb201", "cifar100", 0, 64, "0.2", "cpu"),
                      ev.CacheKey("nb201", "cifar100", 0, 64, "0.1", "cuda")):
            assert cache.lookup(other, [7], ["a"]) == {}
        assert cache.count() == 3


def test_a_second_run_computes_nothing_and_an_interrupted_run_resumes(tmp_path):
    cache = tmp_path / "scores.sqlite"
    first = ev.evaluate_proxies(["params", "synflow"], DS, ARCHS[:2], seed=0, batch_size=8, cache=cache, progress=False)
    assert first.computed == 4 and first.reused == 0  # 2 archs x 2 timed calls
    # a run that was stopped after 2 architectures, resumed on all 3: only the new one is computed
    resumed = ev.evaluate_proxies(["params", "synflow"], DS, ARCHS, seed=0, batch_size=8, cache=cache, progress=False)
    assert resumed.computed == 2 and resumed.reused == 4
    again = ev.evaluate_proxies(["synflow", "params"], DS, ARCHS, seed=0, batch_size=8, cache=cache, progress=False)
    assert again.computed == 0 and again.reused == 6
    for c in ("params", "synflow"):
        assert np.array_equal(again.columns[c], resumed.columns[c])
        assert np.array_equal(again.ms[c], resumed.ms[c]) and np.all(again.ms[c] > 0)  # times are cached too
    # a new proxy on the same sample: only it is computed; --recompute ignores the cache
    more = ev.evaluate_proxies(["params", "flops"], DS, ARCHS, seed=0, batch_size=8, cache=cache, progress=False)
    assert more.computed == 3 and more.reused == 3
    redo = ev.evaluate_proxies(["params"], DS, ARCHS, seed=0, batch_size=8, cache=cache, progress=False,
                               recompute=["params"])
    assert redo.computed == 3 and np.array_equal(redo.columns["params"], more.columns["params"])
    # another seed or batch size is another key: computed afresh
    assert ev.evaluate_proxies(["params"], DS, ARCHS, seed=1, batch_size=8, cache=cache, progress=False).computed == 3


# --- scoring ----------------------------------------------------------------------------------------------
def test_evaluate_proxies_equals_direct_computation(tmp_path):
    result = ev.evaluate_proxies(CHEAP, "cifar100", ARCHS, seed=0, batch_size=8, cache=None, progress=False)
    assert list(result.indices) == sorted(ARCHS) and result.dataset == "cifar100"
    sp = get_space("nb201")
    for pos, index in enumerate(result.indices):
        arch = sp.arch_at(int(index))
        direct = score_all(lambda: sp.build(arch, "cifar100"), CHEAP, (3, 32, 32), 100,
                           seed=arch_seed(0, arch), batch_size=8)
        for name in CHEAP:
            assert result.columns[name][pos] == direct[name]
        cost = sp.cost(arch, "cifar100")  # the NAS-Bench-201 counting of the space
        assert result.columns["params"][pos] == cost.params and result.columns["flops"][pos] == cost.flops
    assert result.columns["params"][list(result.indices).index(6111)] == 1_079_316  # README figure
    assert result.timed_groups == [("params",), ("flops",), ("synflow",)]


def test_scores_do_not_depend_on_the_sample_or_its_order():
    # naswot depends on the seed (probe batch and init): per-architecture seeding must make
    # every score independent of which architectures are evaluated alongside it, and in what order
    names = ["naswot", "synflow"]
    whole = ev.evaluate_proxies(names, DS, ARCHS, seed=0, batch_size=4, progress=False)
    for subset in ([ARCHS[2]], [ARCHS[1], ARCHS[0]]):
        part = ev.evaluate_proxies(names, DS, subset, seed=0, batch_size=4, progress=False)
        for pos, index in enumerate(part.indices):
            w = list(whole.indices).index(index)
            for c in names:
                assert part.columns[c][pos] == whole.columns[c][w]
    other = ev.evaluate_proxies(["naswot"], DS, ARCHS, seed=1, batch_size=4, progress=False)
    assert not np.array_equal(other.columns["naswot"], whole.columns["naswot"])


def test_probe_inputs_file_is_used_and_keyed_apart_in_the_cache(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "probe.npz", x=rng.uniform(0, 1, (8, 3, 16, 16)).astype(np.float32),
             y=rng.integers(0, 120, 8))
    cache = tmp_path / "c.sqlite"
    gaussian = ev.evaluate_proxies(["grad_norm"], DS, ARCHS[:1], seed=0, batch_size=8, cache=cache, progress=False)
    given = ev.evaluate_proxies(["grad_norm"], DS, ARCHS[:1], seed=0, batch_size=8, cache=cache, progress=False,
                                inputs=tmp_path / "probe.npz")
    assert given.computed == 1  # not served from the Gaussian run's cache entry
    assert given.columns["grad_norm"][0] != gaussian.columns["grad_norm"][0]
    again = ev.evaluate_proxies(["grad_norm"], DS, ARCHS[:1], seed=0, batch_size=8, cache=cache, progress=False,
                                inputs=tmp_path / "probe.npz")
    assert again.computed == 0 and again.columns["grad_norm"][0] == given.columns["grad_norm"][0]
    with pytest.raises(HwnasUsageError, match="the networks take N x 3 x 32 x 32"):
        ev.evaluate_proxies(["grad_norm"], "cifar10", ARCHS[:1], seed=0, batch_size=8, cache=cache, progress=False,
                            inputs=tmp_path / "probe.npz")


def test_evaluate_proxies_rejects_bad_requests():
    with pytest.raises(HwnasUsageError, match="did you mean"):
        ev.evaluate_proxies(["snipp"], DS, [0], progress=False)
    with pytest.raises(HwnasUsageError, match="unknown dataset"):
        ev.evaluate_proxies(["params"], "mnist", [0], progress=False)
    with pytest.raises(HwnasUsageError, match="0..15624"):
        ev.evaluate_proxies(["params"], DS, [15625], progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(HwnasUsageError, match="CUDA is not available"):
            ev.evaluate_proxies(["params"], DS, [0], device="cuda", progress=False)


# --- the command ----------------------------------------------------------------------------------------------
def _cli() -> click.Group:
    @click.group()
    def root() -> None:
        """test root"""

    root.add_command(eval_group)
    return root


def test_eval_proxies_command_prints_the_table_and_writes_results(tmp_path, monkeypatch, nb201_accuracy_rows):
    monkeypatch.setenv("COLUMNS", "160")  # rich's table width
    cache, out = tmp_path / "c.sqlite", tmp_path / "r.json"
    args = ["eval", "proxies", "--dataset", "in16", "--sample", "6", "--seed", "0", "--proxies",
            "params,synflow,params+synflow", "--cache", str(cache), "--no-progress", "--threads", "1",
            "--batch-size", "8"]
    result = CliRunner().invoke(_cli(), args + ["--out", str(out)], terminal_width=160)
    assert result.exit_code == 0, result.output
    for text in ("imagenet16-120", "Kendall tau", "Spearman", "top-5% tau", "median ms/arch", "params+synflow"):
        assert text in result.output
    doc = json.loads(out.read_text())
    data = doc["datasets"]["imagenet16-120"]
    assert data["indices"] == ev.fixed_sample(6, 0)
    assert [m["proxy"] for m in data["metrics"]] == ["params", "synflow", "params+synflow"]
    acc = ev.load_ground_truth("imagenet16-120")[data["indices"]]
    tau, rho = ev.rank_correlations(data["scores"]["params"], acc)
    assert data["metrics"][0]["kendall_tau"] == pytest.approx(tau) and data["metrics"][0]["n"] == 6
    again = CliRunner().invoke(_cli(), args + ["--out", str(tmp_path / "r.csv")], terminal_width=160)
    assert again.exit_code == 0 and "computed 0 calls" in again.output
    assert (tmp_path / "r.csv").read_text().startswith("dataset,proxy,kind,kendall_tau")


def test_eval_proxies_command_usage_errors(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(_cli(), ["eval", "proxies", "--proxies", "synflw", "--cache", str(tmp_path / "c.sqlite")])
    assert isinstance(bad.exception, HwnasUsageError) and "did you mean synflow" in str(bad.exception)
    if not torch.cuda.is_available():
        cuda = runner.invoke(_cli(), ["eval", "proxies", "--device", "cuda", "--cache", str(tmp_path / "c.sqlite")])
        assert isinstance(cuda.exception, HwnasUsageError)
        assert "CUDA is not available" in str(cuda.exception) and "\n" not in str(cuda.exception)
    assert not (tmp_path / "c.sqlite").exists()  # nothing was started
