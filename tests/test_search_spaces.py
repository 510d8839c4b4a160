"""Searches beyond NAS-Bench-201: FBNet with HW-NAS-Bench's measured block costs, FLOPs / params
budgets with or without a device, and AZ-NAS evolution (Algorithm 1)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import hwnas
from hwnas.errors import HwnasUsageError
from hwnas.search.budget import parse_budget
from hwnas.search.catalog import ArchCatalog
from hwnas.spaces import get_space


def test_catalog_ids_index_nb201_and_number_fbnet_in_order_of_appearance():
    nb = ArchCatalog(get_space("nb201"))
    a = get_space("nb201").arch_at(1234)
    assert nb.id_of(a) == get_space("nb201").index(get_space("nb201").canonical(a))
    sp = get_space("fbnet")
    cat = ArchCatalog(sp)
    g = np.array([[0] * 22, [8] * 22, [0] * 22])
    assert cat.ids_of_genotypes(g) == [0, 1, 0]
    assert cat.arch(1).genotype == (8,) * 22 and len(cat) == 2
    assert sp.parse(cat.ref(1)) == cat.arch(1) and cat.published_index(1) is None


@pytest.mark.parametrize("text,metric,limit", [("600M", "flops", 6e8), ("1.2G", "flops", 1.2e9),
                                               ("600 MFLOPs", "flops", 6e8), ("3.5M", "params", 3.5e6),
                                               ("3500000", "params", 3.5e6), ("2.5Mparams", "params", 2.5e6)])
def test_count_budgets_parse(text, metric, limit):
    b = parse_budget(text, metric)
    assert b.metric == metric and b.limit == pytest.approx(limit)


@pytest.mark.parametrize("text,needle", [("600m", "milli"), ("abc", "not a number"), ("-5M", "positive"),
                                         ("5X", "unknown multiplier")])
def test_bad_count_budgets_are_one_line_errors(text, needle):
    with pytest.raises(HwnasUsageError, match=needle):
        parse_budget(text, "flops")


def test_flops_budget_without_a_device_trades_score_against_flops(tmp_path):
    res = hwnas.pareto(flops="50M", out=tmp_path / "f", algorithm="exhaustive")
    front = res.front
    assert res.run["device"] is None and "flops_FLOPs" in front and (front["flops_FLOPs"] <= 50e6).all()
    assert set(front["flops_source"]) == {"counted"}
    # the front's FLOPs are the built networks' FLOPs
    sp = get_space("nb201")
    for _, row in front.head(3).iterrows():
        assert sp.cost(sp.arch_at(int(row["arch_index"])), "cifar100").flops == row["flops_FLOPs"]
    # non-dominated in (score, FLOPs): no member has both a better score and fewer FLOPs than another
    s, f = front["score"].to_numpy(), front["flops_FLOPs"].to_numpy()
    assert not any((s > s[i]).any() and ((s > s[i]) & (f <= f[i])).any() for i in range(len(front)))


def test_flops_budget_with_a_device_is_a_constraint_beside_latency(tmp_path):
    res = hwnas.pareto(device="raspi4", latency="8ms", flops="80M", out=tmp_path / "fl", algorithm="exhaustive")
    assert {"latency_ms", "flops_FLOPs"} <= set(res.front)
    assert (res.front["flops_FLOPs"] <= 80e6).all() and (res.front["latency_ms"] <= 8).all()


def test_latency_budget_without_device_is_refused(tmp_path):
    with pytest.raises(HwnasUsageError, match="needs a device"):
        hwnas.pareto(latency="5ms", out=tmp_path / "x")
    with pytest.raises(HwnasUsageError, match="device"):
        hwnas.pareto(out=tmp_path / "y")


def test_fbnet_search_prices_with_hwnasbench_block_energy(tmp_path):
    from hwnas.devices.fbnet import fbnet_costs

    res = hwnas.pareto(space="fbnet", device="jetson-tx2", energy="100mJ", proxy="params", evaluations=40,
                       pop_size=10, out=tmp_path / "fb")
    ev = res.evaluated
    assert len(ev) == 40 and ev["arch_index"].isna().all()
    sp = get_space("fbnet")
    ops = np.array([sp.parse(a).genotype for a in ev["arch"]])
    np.testing.assert_allclose(ev["energy_mJ"], fbnet_costs(ops, "jetson-tx2", "energy", "cifar100"), rtol=0)
    assert set(ev["energy_source"]) == {"measured"} and (res.front["energy_mJ"] <= 100).all()
    assert "no accuracy ground truth" in res.run["accuracy_note"]
    saved = json.loads((tmp_path / "fb" / "pareto.json").read_text())
    assert saved["front"][0]["arch"] == res.front["arch"][0] and saved["front"][0]["arch_index"] is None
    assert "no accuracy ground truth" in (tmp_path / "fb" / "report.html").read_text()


def test_fbnet_budget_below_the_cheapest_network_names_it(tmp_path):
    with pytest.raises(HwnasUsageError, match=r"cheapest architecture \(skip,skip"):
        hwnas.pareto(space="fbnet", device="jetson-tx2", energy="10mJ", proxy="params", out=tmp_path / "x")


def test_fbnet_exhaustive_is_refused(tmp_path):
    with pytest.raises(HwnasUsageError, match="too many to enumerate"):
        hwnas.pareto(space="fbnet", device="raspi4", latency="30ms", algorithm="exhaustive", out=tmp_path / "x")


def test_fbnet_on_a_help_device_is_measured_or_predicted_with_its_accuracy(tmp_path):
    res = hwnas.pareto(space="fbnet", device="pixel2", proxy="params", evaluations=20, pop_size=10,
                       out=tmp_path / "h")
    assert set(res.evaluated["latency_source"]) <= {"measured", "predicted"}
    label = res.run["cost_sources"]["latency"]["provenance"]["predicted"]
    assert "Spearman" in label and "within +-10 %" in label


def test_az_evolution_stays_within_budget_is_deterministic_and_finds_good_networks(tmp_path):
    kw = dict(flops="50M", algorithm="az-evolution", evaluations=300, pop_size=10, seed=3)
    a = hwnas.pareto(out=tmp_path / "a", **kw)
    b = hwnas.pareto(out=tmp_path / "b", **kw)
    assert list(a.evaluated["arch_index"]) == list(b.evaluated["arch_index"])
    assert a.evaluated["feasible"].all() and len(a.evaluated) == 300
    # the evolution beats uniform sampling of the same number of networks
    r = hwnas.pareto(flops="50M", algorithm="random", evaluations=300, pop_size=10, seed=3, out=tmp_path / "r")
    best_evo = a.front["score"].max()
    best_random = r.front["score"].max()
    assert best_evo >= best_random
    # and it keeps to the budget by pricing before scoring: every evaluated network fits
    assert (a.evaluated["flops_FLOPs"] <= 50e6).all()


@pytest.mark.parametrize("space,dataset", [("fbnet", "cifar100"), ("mbv2", "imagenet")])
def test_az_nas_scores_networks_of_the_new_spaces(space, dataset):
    """The AZ-NAS proxies read the new spaces' primary blocks (`proxy_blocks`): stem and every
    block that computes something; identity skips are no blocks."""
    import torch

    from hwnas.eval import score_architecture

    torch.set_num_threads(1)
    sp = get_space(space)
    arch = sp.sample(np.random.default_rng(1), 1)[0]
    scores = score_architecture(sp.to_str(arch), ["az_nas"], dataset, 0, 4, space)
    assert set(scores) == {"az_expressivity", "az_progressivity", "az_trainability", "az_complexity"}
    assert all(np.isfinite(v) for v in scores.values())
    # complexity: conv + linear MACs (no BN / ReLU / pooling element operations, unlike `cost`)
    assert 0.8 * sp.cost(arch, dataset).flops < scores["az_complexity"] <= sp.cost(arch, dataset).flops
    model = sp.build(arch, dataset)
    blocks = model.proxy_blocks()
    assert len(blocks) >= 2 and not any(isinstance(b, torch.nn.Identity) for b in blocks)


def test_every_proxy_scores_an_fbnet_network():
    import torch

    from hwnas.eval import score_architecture
    from hwnas.proxies import PROXIES

    torch.set_num_threads(1)
    sp = get_space("fbnet")
    arch = sp.sample(np.random.default_rng(2), 1)[0]
    for name in PROXIES.names():
        scores = score_architecture(sp.to_str(arch), [name], "cifar100", 0, 4, "fbnet")
        assert scores and all(np.isfinite(v) for v in scores.values()), name


def test_commands_without_index_support_refuse_the_new_spaces_in_one_line(tmp_path, capsys):
    from hwnas.cli import main

    assert main(["profile", "--space", "fbnet", "--archs", "sample:2", "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "hwnas export --space fbnet" in err[0]
