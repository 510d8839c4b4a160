"""Choosing the networks to label (`hwnas.proxies.label_selection`, ``hwnas proxies suggest``):
the stratified pick on its own, suggestions from the shipped table (one per class, cells that
see their input, equal shares per FLOPs stratum, best-scored first, labelled classes left out),
a second round ranked by a learned proxy fitted on the first, the CSV as a ``--labels`` file,
and bad invocations (exit 2, one line). Rounds that need accuracies read the data folder's
ground truth and skip where it is absent."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.cli import main
from hwnas.errors import HwnasUsageError
from hwnas.proxies.label_selection import cost_strata, stratified_top


def test_stratified_top_takes_equal_shares_of_each_cost_stratum():
    cost = np.arange(12, dtype=float)  # strata of 4: 0-3, 4-7, 8-11
    score = np.array([1, 5, 3, 2, 9, 8, 7, 6, 0, 4, 4, 1], dtype=float)
    got = stratified_top(score, cost, np.ones(12, bool), count=7, strata=3)
    # shares 3 / 2 / 2; best first within a stratum; the tie (9, 10) goes to the lower index
    assert got.tolist() == [1, 2, 3, 4, 5, 9, 10]


def test_stratified_top_skips_ineligible_entries_and_ranks_nan_last():
    cost = np.array([0, 1, 2, 3, 4, 5, 6, 7], dtype=float)[::-1].copy()  # cheapest last
    score = np.array([np.nan, 3, 2, 1, 10, 20, 30, 40], dtype=float)
    eligible = np.array([1, 1, 0, 0, 1, 1, 1, 1], bool)  # strata over the 6 eligible: {7,6,5}, {4,1,0}
    got = stratified_top(score, cost, eligible, count=4, strata=2)
    assert got.tolist() == [7, 6, 4, 1]  # 2 and 3 never chosen
    assert stratified_top(score, cost, eligible, count=6, strata=2).tolist() == [7, 6, 5, 4, 1, 0]  # NaN last
    assert stratified_top(score, cost, eligible, count=6, strata=4).size == 6  # shares never exceed strata
    assert cost_strata(cost, eligible, 4).tolist() == [4, 3, 0, 0, 2, 2, 1, 1]  # sizes 2, 2, 1, 1 by cost
    with pytest.raises(ValueError):
        stratified_top(score, cost, eligible, count=7)


def test_suggestions_from_the_table_cover_every_flops_stratum():
    from hwnas.proxies.label_selection import ranking_score, suggest_labels
    from hwnas.search.problem import output_ignores_input
    from hwnas.spaces.nb201 import NB201Space, representative_indices

    s = suggest_labels("cifar10", 30, strata=10)
    rep = representative_indices()
    assert s.arch.size == 30 and np.unique(rep[s.arch]).size == 30 and np.array_equal(rep[s.arch], s.arch)
    assert not any(output_ignores_input(NB201Space().arch_at(int(a)).genotype) for a in s.arch)
    assert np.bincount(s.stratum, minlength=11)[1:].tolist() == [3] * 10
    assert np.all(np.diff(s.stratum) >= 0)  # cheap strata first
    for k in range(1, 11):
        assert np.all(np.diff(s.score[s.stratum == k]) <= 0)  # best first
    # each pick beats every unpicked class of its stratum that sees its input
    reps, score = ranking_score("cifar10", "jacob_cov,meco,swap")  # the default
    assert np.allclose(np.sort(score[np.isin(reps, s.arch)]), np.sort(s.score))
    stratum_macs = [(s.macs[s.stratum == k].min(), s.macs[s.stratum == k].max()) for k in range(1, 11)]
    assert all(lo <= hi for lo, hi in stratum_macs)
    assert all(stratum_macs[k][1] <= stratum_macs[k + 1][0] for k in range(9))
    # labelled classes (any member) are left out, and the next best take their place
    member = int(np.flatnonzero(rep == s.arch[0])[-1])
    again = suggest_labels("cifar10", 30, labelled=[member, int(s.arch[1])])
    assert again.excluded == 2 and not np.isin(s.arch[:2], again.arch).any()
    assert suggest_labels("cifar10", 30).arch.tolist() == s.arch.tolist()  # deterministic


def test_suggestions_within_a_budget_all_fit_it():
    from hwnas.devices.costs import cost_table, count_table
    from hwnas.proxies.label_selection import suggest_labels
    from hwnas.search.budget import parse_budget
    from hwnas.search.problem import cheapest_members
    from hwnas.spaces.nb201 import representative_indices

    budget = parse_budget("8ms", "latency")
    s = suggest_labels("cifar10", 20, device="raspi4", budgets=[budget])
    table = cost_table("nb201", "raspi4", "latency")
    member = cheapest_members(table)
    assert s.arch.size == 20 and np.all(table.budget_values()[member[s.arch]] <= 8.0)
    # the strata are cut over the classes that fit: all ten used, cheap ones first
    assert np.bincount(s.stratum, minlength=11)[1:].tolist() == [2] * 10
    # fewer classes fit than the whole space has: the count error says how many
    reps = np.unique(representative_indices())
    fits = int((table.budget_values()[member[reps]] <= 8.0).sum())
    with pytest.raises(HwnasUsageError, match=r"give 1\.\.\d+ .* fit the budget"):
        suggest_labels("cifar10", fits + 1, device="raspi4", budgets=[budget])
    flops = suggest_labels("cifar10", 20, budgets=[parse_budget("40M", "flops")])  # no device needed
    counted = count_table("nb201", "flops", "cifar10")
    assert np.all(counted.values[cheapest_members(counted)[flops.arch]] <= 40e6)
    with pytest.raises(HwnasUsageError, match="needs a device"):
        suggest_labels("cifar10", 20, budgets=[budget])


def test_suggest_then_fit_then_suggest_again(isolated_home, nb201_accuracy_rows, tmp_path, capsys):
    from hwnas.eval_truth import load_ground_truth
    from hwnas.proxies import learned
    from hwnas.proxies.label_selection import suggest_labels

    learned._load.cache_clear()
    learned._predictions.cache_clear()
    first = tmp_path / "round1.csv"
    assert main(["proxies", "suggest", "--dataset", "cifar10", "--count", "40", "--out", str(first)]) == 0
    assert "wrote 40 networks" in capsys.readouterr().out
    lines = first.read_text().splitlines()
    assert lines[0] == "arch,accuracy,arch_str,stratum,macs,score" and len(lines) == 41
    # unfilled, it is not yet a labels file
    assert main(["proxies", "fit", "--dataset", "cifar10", "--labels", str(first), "--name", "mine"]) == 2
    assert "accuracy" in capsys.readouterr().err
    acc = load_ground_truth("cifar10")
    rows = [r.split(",", 2) for r in lines[1:]]
    filled = [lines[0]] + [f"{arch},{float(acc[int(arch)])!r},{rest}" for arch, _, rest in rows]
    first.write_text("\n".join(filled) + "\n")
    assert main(["proxies", "fit", "--dataset", "cifar10", "--labels", str(first), "--name", "mine",
                 "--no-progress"]) == 0
    second = tmp_path / "round2.csv"
    assert main(["proxies", "suggest", "--dataset", "cifar10", "--count", "20", "--proxy", "mine",
                 "--out", str(second)]) == 0
    assert "40 labelled classes left out" in capsys.readouterr().out
    picked = [int(r.split(",")[0]) for r in second.read_text().splitlines()[1:]]
    assert len(picked) == 20 and not set(picked) & {int(r.split(",")[0]) for r in lines[1:]}
    # ranked by the learned proxy's predictions (% accuracy), not by the training-free aggregate
    s = suggest_labels("cifar10", 20, proxy="mine")
    assert s.arch.tolist() == picked and np.all((s.score > 0) & (s.score <= 100))
    assert np.allclose(s.score, learned.learned_predictions("mine")[s.arch])
    # both rounds' files fit as one labelled set
    second.write_text("arch,accuracy\n" + "".join(f"{a},{float(acc[a])!r}\n" for a in picked))
    assert main(["proxies", "fit", "--dataset", "cifar10", "--labels", str(first), "--labels", str(second),
                 "--name", "mine", "--no-progress"]) == 0
    assert "60 labelled networks" in capsys.readouterr().out
    record = learned.load_learned("mine").record
    assert record["n_classes"] == 60 and str(second.resolve()) in record["labels"]
    assert suggest_labels("cifar10", 5, proxy="mine").excluded == 60
    # a search with it says where its scores came from
    assert main(["pareto", "--device", "raspi4", "--latency", "8ms", "--dataset", "cifar10", "--proxy", "mine",
                 "--out", str(tmp_path / "run")]) == 0
    assert "from the shipped score table and learned proxies" in " ".join(capsys.readouterr().out.split())
    # a proxy predicts the dataset it was fitted on
    assert main(["proxies", "suggest", "--dataset", "cifar100", "--count", "5", "--proxy", "mine",
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "predicts cifar10 accuracy" in capsys.readouterr().err
    # a network labelled in both files is a one-line error naming both places
    dup = tmp_path / "dup.csv"
    dup.write_text(f"arch,accuracy\n{picked[3]},50.0\n")
    assert main(["proxies", "fit", "--dataset", "cifar10", "--labels", str(second), "--labels", str(dup),
                 "--name", "other"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"architecture {picked[3]} is labelled twice" in err
    assert f"{second}: line 5" in err and f"{dup}: line 2" in err


@pytest.mark.parametrize("args, message", [
    (["--count", "0"], "--count 0: give 1.."),
    (["--count", "7000"], "--count 7000: give 1.."),
    (["--count", "5", "--proxy", "az_nas,params"], "look-up scores only"),
    (["--count", "5", "--proxy", "nope"], "unknown proxy 'nope'"),
    (["--count", "5", "--space", "fbnet"], "nb201 only"),
    (["--count", "5", "--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["--count", "5", "--labels", "missing.csv"], "does not exist"),
    (["--count", "5", "--strata", "0"], "--strata"),
    (["--count", "5", "--latency", "8ms"], "needs a device"),
    (["--count", "5", "--device", "raspi4"], "give a --latency or --energy budget"),
    (["--count", "5", "--device", "raspi4", "--latency", "8"], "has no unit"),
    (["--count", "5", "--device", "nope", "--latency", "8ms"], "unknown device 'nope'"),
])
def test_bad_suggest_invocations_are_one_line_errors(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["proxies", "suggest", "--out", "s.csv", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "s.csv").exists()


def test_a_labels_file_with_an_unknown_architecture_names_its_line(tmp_path, capsys):
    bad = tmp_path / "done.csv"
    bad.write_text("arch,accuracy\n12,\nnot-an-arch,\n")
    assert main(["proxies", "suggest", "--count", "5", "--labels", str(bad), "--out", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "not-an-arch" in err
