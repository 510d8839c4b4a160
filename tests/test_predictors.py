"""Predictors: metrics, file format and its errors, ONNX graph extraction, the four models on
synthetic targets the tests make themselves, and the train/evaluate protocol on shipped measurements."""

from __future__ import annotations

import io
import json
import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from hwnas.errors import HwnasUsageError
from hwnas.predictors import PREDICTORS, Predictor, get_predictor, load_predictor, train_predictor
from hwnas.predictors.metrics import accuracy_within, compute_metrics, kendall, mape, rmse, spearman
from hwnas.predictors.onnx_graph import FEATURE_NAMES, graph_from_onnx
from hwnas.spaces import get_space

SPACE = get_space("nb201")
OP_COST = np.array([0.0, 0.05, 0.6, 2.0, 0.3])  # synthetic per-edge cost of none, skip, 1x1, 3x3, pool


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _archs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return [SPACE.arch_at(int(i)) for i in rng.choice(SPACE.num_archs, size=n, replace=False)]


def _additive_target(archs) -> np.ndarray:
    """latency = 1 ms + the sum of per-op costs (a synthetic, exactly additive device)."""
    return np.array([1.0 + OP_COST[list(a.genotype)].sum() for a in archs])


def _onnx_bytes(model: nn.Module, shape=(1, 3, 8, 8)) -> bytes:
    buf = io.BytesIO()
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(shape),), buf, input_names=["input"], output_names=["out"],
                          opset_version=17, dynamo=False, do_constant_folding=True,
                          dynamic_axes={"input": {0: "batch"}, "out": {0: "batch"}})
    return buf.getvalue()


# --- metrics -----------------------------------------------------------------------------------
def test_metrics_on_hand_made_arrays():
    true = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.0, 2.2, 2.7, 4.0])  # relative errors 0, 0.1, 0.1, 0
    assert rmse(pred, true) == pytest.approx(math.sqrt((0.04 + 0.09) / 4))
    assert mape(pred, true) == pytest.approx(5.0)
    assert accuracy_within(pred, true, 0.10) == pytest.approx(100.0)  # exactly 10 % counts as within
    assert accuracy_within(pred, true, 0.05) == pytest.approx(50.0)
    assert spearman(pred, true) == pytest.approx(1.0)
    assert kendall(pred, true) == pytest.approx(1.0)
    assert spearman(true[::-1], true) == pytest.approx(-1.0)
    assert kendall(np.array([1.0, 3.0, 2.0, 4.0]), true) == pytest.approx(4 / 6)  # one discordant pair of 6
    m = compute_metrics(pred, true)
    assert (m.n, m.acc10_pct, m.acc5_pct) == (4, 100.0, 50.0)
    assert math.isnan(compute_metrics(np.ones(4), true).spearman)  # constant predictions: undefined
    with pytest.raises(ValueError):
        mape(pred, np.array([1.0, 0.0, 3.0, 4.0]))


# --- encoding models on synthetic targets --------------------------------------------------------
def test_ridge_fits_an_additive_device_exactly():
    train, test = _archs(200, 0), _archs(300, 1)
    pred = get_predictor("ridge", alpha=1e-6).fit(train, _additive_target(train))
    m = pred.evaluate(test, _additive_target(test))
    assert m.spearman > 0.999 and m.acc5_pct == 100.0


def test_mlp_fits_an_additive_device():
    train, test = _archs(300, 2), _archs(300, 3)
    pred = get_predictor("mlp", hidden=64, epochs=60, seed=0).fit(train, _additive_target(train))
    m = pred.evaluate(test, _additive_target(test))
    assert m.spearman > 0.9 and m.acc10_pct > 50


def test_flops_fits_a_device_linear_in_flops_and_params():
    archs = _archs(80, 4)
    cost = np.array([[SPACE.cost(a, "cifar10").mflops, SPACE.cost(a, "cifar10").params_m] for a in archs])
    y = 0.05 * cost[:, 0] + 3.0 * cost[:, 1] + 0.5
    pred = get_predictor("flops").fit(archs[:40], y[:40])
    m = pred.evaluate(archs[40:], y[40:])
    assert m.spearman > 0.99 and m.acc5_pct == 100.0
    assert pred.predict([6111])[0] == pytest.approx(pred.predict([SPACE.arch_at(6111)])[0])  # index or Arch


def test_mlp_is_deterministic_under_seed():
    archs = _archs(100, 5)
    y = _additive_target(archs)
    a = get_predictor("mlp", hidden=32, epochs=5, seed=3).fit(archs, y).predict(archs)
    b = get_predictor("mlp", hidden=32, epochs=5, seed=3).fit(archs, y).predict(archs)
    c = get_predictor("mlp", hidden=32, epochs=5, seed=4).fit(archs, y).predict(archs)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def _interacting_target(archs) -> np.ndarray:
    """The additive device plus a pairwise interaction no per-op sum can express: a 3x3 conv on
    edge 0 costs 1.5 ms more when edge 5 is also a 3x3 conv."""
    g = np.array([a.genotype for a in archs])
    return _additive_target(archs) + 1.5 * ((g[:, 0] == 3) & (g[:, 5] == 3))


def test_gp_learns_an_interaction_that_ridge_cannot():
    train, test = _archs(300, 20), _archs(400, 21)
    y_train, y_test = _interacting_target(train), _interacting_target(test)
    gp = get_predictor("gp").fit(train, y_train)
    ridge = get_predictor("ridge", target="log").fit(train, y_train)
    m_gp, m_ridge = gp.evaluate(test, y_test), ridge.evaluate(test, y_test)
    assert m_gp.acc10_pct > 97 and m_gp.rmse < 0.5 * m_ridge.rmse, (m_gp, m_ridge)
    assert gp.predict(train) == pytest.approx(y_train, rel=0.05)


def test_gp_lengthscales_are_short_only_where_the_cost_depends_on_the_choice():
    archs = _archs(200, 22)
    y = np.array([1.0 + OP_COST[a.genotype[2]] for a in archs])  # only edge 2 matters
    ls = get_predictor("gp").fit(archs, y).lengthscales.reshape(6, 5)
    assert ls[2].min() < 0.2 * np.delete(ls, 2, axis=0).min()


def test_gp_marginal_likelihood_gradient_matches_finite_differences():
    from hwnas.predictors.gp import negative_log_marginal_likelihood

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 2, size=(25, 4)).astype(float), rng.normal(size=25)
    theta = np.array([0.3, -0.2, 0.5, 0.1, 0.2, -1.0])
    _, grad = negative_log_marginal_likelihood(theta, x, y)
    eps = 1e-6
    numeric = [(negative_log_marginal_likelihood(theta + eps * e, x, y)[0]
                - negative_log_marginal_likelihood(theta - eps * e, x, y)[0]) / (2 * eps) for e in np.eye(6)]
    assert grad == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def test_gp_is_deterministic_and_caps_its_training_set():
    archs = _archs(120, 23)
    y = _interacting_target(archs)
    a = get_predictor("gp", max_iter=20).fit(archs, y)
    b = get_predictor("gp", max_iter=20).fit(archs, y)
    assert np.array_equal(a.predict(archs), b.predict(archs))
    with pytest.warns(UserWarning, match="random 50 of the 120"):
        capped = get_predictor("gp", max_train=50, max_iter=20, seed=1).fit(archs, y)
    assert capped.x_train.shape == (50, 30)
    with pytest.raises(HwnasUsageError, match="max_train"):
        get_predictor("gp", max_train=1)


# --- file format --------------------------------------------------------------------------------
@pytest.mark.parametrize("model,options", [("ridge", {}), ("mlp", {"hidden": 16, "epochs": 3}),
                                           ("flops", {}), ("gp", {"max_iter": 10})])
def test_save_load_round_trip_gives_identical_predictions(tmp_path, model, options):
    archs = _archs(60, 6)
    pred = get_predictor(model, **options).fit(archs, _additive_target(archs))
    pred.trained_on = {"device": "synthetic"}
    folder = pred.save(tmp_path / f"{model}-synthetic")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "weights.npz"]
    config = json.loads((folder / "config.json").read_text())
    assert config["model"] == model and config["trained_on"] == {"device": "synthetic"}
    again = load_predictor(folder)
    assert type(again) is type(pred) and again.hparams == pred.hparams
    assert np.array_equal(again.predict(archs), pred.predict(archs))
    with np.load(folder / "weights.npz", allow_pickle=False) as z:  # no pickles anywhere
        assert all(z[k].dtype != object for k in z.files)


def _saved_ridge(folder):
    archs = _archs(30, 7)
    return get_predictor("ridge").fit(archs, _additive_target(archs)).save(folder)


def test_missing_predictor_names_what_exists(tmp_path):
    _saved_ridge(tmp_path / "raspi4-latency-ridge")
    with pytest.raises(HwnasUsageError) as err:
        load_predictor(tmp_path / "pixel3-latency-gcn")
    msg = str(err.value)
    assert "\n" not in msg and "no predictor at" in msg and "raspi4-latency-ridge" in msg
    with pytest.raises(HwnasUsageError, match="no saved predictors"):
        load_predictor(tmp_path / "empty" / "x")


@pytest.mark.parametrize("damage", ["weights-garbage", "weights-missing", "weights-truncated",
                                    "config-garbage", "config-shape"])
def test_corrupt_predictor_is_a_one_line_usage_error(tmp_path, damage):
    good = _saved_ridge(tmp_path / "raspi4-latency-ridge")
    bad = _saved_ridge(tmp_path / "pixel3-latency-ridge")
    if damage == "weights-garbage":
        (bad / "weights.npz").write_bytes(b"not a zip file at all")
    elif damage == "weights-missing":
        (bad / "weights.npz").unlink()
    elif damage == "weights-truncated":
        data = (bad / "weights.npz").read_bytes()
        (bad / "weights.npz").write_bytes(data[: len(data) // 2])
    elif damage == "config-garbage":
        (bad / "config.json").write_text("{ this is not json")
    else:
        config = json.loads((bad / "config.json").read_text())
        config["arrays"]["coef"]["shape"] = [7]
        (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(HwnasUsageError) as err:
        load_predictor(bad)
    msg = str(err.value)
    assert "\n" not in msg and "pixel3-latency-ridge" in msg and good.name in msg
    assert load_predictor(good).fitted


def test_unknown_model_and_options_are_usage_errors():
    with pytest.raises(HwnasUsageError, match="did you mean gcn"):
        get_predictor("gcnn")
    with pytest.raises(HwnasUsageError, match="unknown option"):
        get_predictor("ridge", depth=3)
    with pytest.raises(HwnasUsageError, match="not a valid int"):
        get_predictor("mlp", epochs="many")
    with pytest.raises(HwnasUsageError, match="not fitted"):
        get_predictor("ridge").predict([0])
    assert set(PREDICTORS.names()) >= {"flops", "ridge", "mlp", "gcn", "gp"}
    assert all(issubclass(PREDICTORS.get(n), Predictor) for n in PREDICTORS.names())


# --- ONNX graphs -----------------------------------------------------------------------------------
class _Tiny(nn.Module):
    """conv1 -> relu -> conv2 (stride 2) ; conv1 -> avgpool (stride 2) ; add."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x):
        a = self.conv1(x)
        return self.conv2(self.relu(a)) + self.pool(a)


def test_onnx_graph_of_a_tiny_network():
    g = graph_from_onnx(_onnx_bytes(_Tiny()))
    assert list(g.op_types) == ["Conv", "Relu", "Conv", "AveragePool", "Add"]
    edges = {(g.op_types[i] + str(i), g.op_types[j] + str(j)) for i, j in g.edges.T}
    assert edges == {("Conv0", "Relu1"), ("Relu1", "Conv2"), ("Conv0", "AveragePool3"),
                     ("Conv2", "Add4"), ("AveragePool3", "Add4")}
    macs = g.feature("macs")
    assert macs[0] == pytest.approx(8 * 8 * 8 * 3 * 3 * 3)  # out 8x8x8 positions x C_in 3 x 3x3
    assert macs[2] == pytest.approx(8 * 4 * 4 * 8 * 3 * 3)  # stride 2: 4x4 outputs
    f = {name: g.feature(name).round(3) for name in FEATURE_NAMES}  # float32 log1p, undone
    assert (f["in_channels"][0], f["out_channels"][0], f["in_spatial"][0], f["out_spatial"][0]) == (3, 8, 64, 64)
    assert (f["out_spatial"][2], f["stride"][2], f["kernel"][2], f["groups"][2]) == (16, 2, 9, 1)
    assert g.feature("weight_bytes")[0] == pytest.approx(8 * 3 * 9 * 4)
    assert g.feature("out_bytes")[0] == pytest.approx(8 * 8 * 8 * 4)
    assert g.feature("flops")[3] == pytest.approx(8 * 4 * 4 * 4)  # avg-pool: outputs x kernel area
    assert np.all(g.feature("live") == 1) and np.all(g.feature("output_dependent") == 1)
    assert list(g.feature("operand_slot").round(3)) == [0, 0, 0, 1, 0]  # the pool is the Add's 2nd operand
    assert g.features.shape == (5, len(FEATURE_NAMES)) and g.features.dtype == np.float32


def test_operand_order_is_a_node_feature():
    """After a skip_connect, node 1 is node 0's tensor: (none, conv) and (conv, none) into node 2
    make the same ops and edges, differing only in which branch is the sum's first operand. The
    jetson-tx2 measurements tell them apart, so the graph must (operand_slot)."""
    from hwnas.predictors.graphs import export_graph

    sp = get_space("nb201")
    slot = FEATURE_NAMES.index("operand_slot")
    graphs = [export_graph("nb201", sp.from_str(f"|skip_connect~0|+|{a}~0|{b}~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"),
                           "cifar10", via="builder") for a, b in (("none", "nor_conv_3x3"), ("nor_conv_3x3", "none"))]

    def rows(g, keep):
        cols = [i for i in range(len(FEATURE_NAMES)) if keep or i != slot]
        return sorted(map(tuple, np.column_stack([g.op_types, g.features[:, cols]]).tolist()))

    assert rows(graphs[0], keep=False) == rows(graphs[1], keep=False)
    assert graphs[0].num_edges == graphs[1].num_edges
    assert rows(graphs[0], keep=True) != rows(graphs[1], keep=True)
    muls = [g.feature("operand_slot")[g.op_types == "Mul"].round(3) for g in graphs]
    assert set(muls[0]) == {0.0} and set(muls[1]) == {1.0}  # the none branch: first, then second


def test_gcn_operand_order_option_drops_the_operand_slot_feature(tmp_path):
    """operand_order=False: a gcn that cannot tell the two operand orders apart prices them alike;
    the default reads operand_slot and, fitted to different costs, prices them differently."""
    from hwnas.predictors.graphs import export_graph

    sp = get_space("nb201")
    graphs = [export_graph("nb201", sp.from_str(f"|skip_connect~0|+|{a}~0|{b}~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"),
                           "cifar10", via="builder") for a, b in (("none", "nor_conv_3x3"), ("nor_conv_3x3", "none"))]
    costs = np.array([1.0, 1.3])
    blind = get_predictor("gcn", seed=0, epochs=30, operand_order=False).fit_graphs(graphs, costs)
    assert blind.predict_graphs(graphs)[0] == pytest.approx(blind.predict_graphs(graphs)[1], rel=1e-5)
    again = load_predictor(blind.save(tmp_path / "blind"))  # the option travels with the weights
    assert np.array_equal(again.predict_graphs(graphs), blind.predict_graphs(graphs))
    seeing = get_predictor("gcn", seed=0, epochs=30).fit_graphs(graphs, costs)
    pred = seeing.predict_graphs(graphs)
    assert pred[1] / pred[0] > 1.05


class _DeadBranch(nn.Module):
    def __init__(self, dead_output: bool) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1, bias=False)
        self.b = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.dead_output = dead_output

    def forward(self, x):
        dead = self.b(x).mul(0.0)  # NAS-Bench-201's `none` edge
        return dead if self.dead_output else self.a(x) + dead


def test_onnx_graph_marks_dead_ops():
    g = graph_from_onnx(_onnx_bytes(_DeadBranch(False)))
    live = dict(zip(g.names, g.feature("live")))
    kinds = dict(zip(g.names, g.op_types))
    assert {kinds[n] for n, v in live.items() if v == 0} == {"Conv", "Mul"}  # conv b and the zero multiply
    assert np.all(g.feature("output_dependent") == 1) and np.all(g.feature("input_dependent") == 1)
    g = graph_from_onnx(_onnx_bytes(_DeadBranch(True)))
    assert np.all(g.feature("live") == 0) and np.all(g.feature("output_dependent") == 0)


def _chain(depth: int, width: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1, bias=False)]
    for _ in range(depth - 1):
        layers += [nn.ReLU(), nn.Conv2d(width, width, 3, padding=1, bias=False)]
    return nn.Sequential(*layers)


@pytest.fixture(scope="module")
def tiny_graphs():
    """36 tiny ONNX networks (depth 1..12, width 4/8/16) and a target made from their node counts."""
    graphs = [graph_from_onnx(_onnx_bytes(_chain(d, w), (1, 3, 6, 6))) for d in range(1, 13) for w in (4, 8, 16)]
    y = np.array([0.2 + 0.1 * g.num_nodes * (1.0 + 0.01 * g.feature("out_channels")[0]) for g in graphs])
    return graphs, y


def test_gcn_learns_tiny_graphs_and_beats_a_constant(tiny_graphs):
    graphs, y = tiny_graphs
    test = np.arange(len(graphs)) % 4 == 1
    train_g = [g for g, t in zip(graphs, test) if not t]
    test_g = [g for g, t in zip(graphs, test) if t]
    gcn = get_predictor("gcn", hidden=32, layers=2, epochs=80, batch_size=8, lr=5e-3, seed=0)
    gcn.fit_graphs(train_g, y[~test])
    pred = gcn.predict_graphs(test_g)
    constant = np.full(test.sum(), y[~test].mean())
    assert rmse(pred, y[test]) < 0.5 * rmse(constant, y[test])
    assert spearman(pred, y[test]) > 0.9


def test_gcn_is_deterministic_and_round_trips(tiny_graphs, tmp_path):
    graphs, y = tiny_graphs
    options = dict(hidden=16, layers=2, epochs=4, batch_size=8, seed=1)
    a = get_predictor("gcn", **options).fit_graphs(graphs, y)
    b = get_predictor("gcn", **options).fit_graphs(graphs, y)
    pa = a.predict_graphs(graphs)
    assert np.array_equal(pa, b.predict_graphs(graphs))
    again = load_predictor(a.save(tmp_path / "gcn"))
    assert np.array_equal(again.predict_graphs(graphs), pa)


def test_gcn_degree_features_count_producers_and_consumers():
    from hwnas.predictors.gcn import degree_features

    g = graph_from_onnx(_onnx_bytes(_Tiny()))  # Conv0 feeds Relu1 and AveragePool3; Add4 has two inputs
    deg = np.expm1(degree_features(g)).round(4)
    assert deg[:, 0].tolist() == [0, 1, 1, 1, 2] and deg[:, 1].tolist() == [2, 1, 1, 1, 0]


def test_gcn_options_added_later_default_to_what_older_saved_models_did(tiny_graphs, tmp_path):
    graphs, y = tiny_graphs
    old = get_predictor("gcn", hidden=16, layers=2, epochs=3, batch_size=8).fit_graphs(graphs, y)
    folder = old.save(tmp_path / "old")
    config = json.loads((folder / "config.json").read_text())
    for key in ("degree_features", "ensemble", "base"):  # as written by hwnas 0.2.0
        del config["hparams"][key]
    (folder / "config.json").write_text(json.dumps(config))
    assert np.array_equal(load_predictor(folder).predict_graphs(graphs), old.predict_graphs(graphs))
    with_degrees = get_predictor("gcn", hidden=16, layers=2, epochs=3, batch_size=8, degree_features=True)
    assert not np.array_equal(with_degrees.fit_graphs(graphs, y).predict_graphs(graphs), old.predict_graphs(graphs))


def test_gcn_ensemble_is_the_geometric_mean_of_its_seeded_members(tiny_graphs, tmp_path):
    graphs, y = tiny_graphs
    options = dict(hidden=16, layers=2, epochs=3, batch_size=8)
    pair = get_predictor("gcn", ensemble=2, seed=3, **options).fit_graphs(graphs, y)
    first = get_predictor("gcn", seed=3, **options).fit_graphs(graphs, y).predict_graphs(graphs)
    second = get_predictor("gcn", seed=4, **options).fit_graphs(graphs, y).predict_graphs(graphs)
    pred = pair.predict_graphs(graphs)
    assert not np.allclose(first, second)
    assert np.allclose(pred, np.sqrt(first * second), rtol=1e-5)
    assert np.array_equal(load_predictor(pair.save(tmp_path / "pair")).predict_graphs(graphs), pred)
    with pytest.raises(HwnasUsageError, match="ensemble must be at least 1"):
        get_predictor("gcn", ensemble=0)


def _additive_graph_cost(graphs) -> np.ndarray:
    """0.5 ms + 1e-4 ms per multiply-accumulate + 0.2 ms per ReLU: exactly additive per op."""
    return np.array([0.5 + 1e-4 * g.feature("macs").sum() + 0.2 * np.sum(g.op_types == "Relu") for g in graphs])


def test_opsum_features_count_and_sum_per_op_type_and_group():
    from hwnas.predictors.opsum import GROUPS, QUANTITIES, opsum_features

    g = graph_from_onnx(_onnx_bytes(_DeadBranch(False)))  # conv a (live), conv b and Mul (dead), Add
    f = opsum_features(g, ("Conv", "Mul")).reshape(3, len(GROUPS), 1 + len(QUANTITIES))
    conv, mul, other = f
    assert conv[:, 0].tolist() == [2, 2, 1]  # nodes: all, of an input-dependent output, live
    macs = g.feature("macs")[g.op_types == "Conv"]
    assert conv[0, 1] == pytest.approx(macs.sum()) and conv[2, 1] == pytest.approx(macs.min())  # live: the 1x1
    assert mul[:, 0].tolist() == [1, 1, 0] and other[:, 0].tolist() == [1, 1, 1]  # the Add is "other" here


def test_opsum_is_exact_on_an_additive_cost_and_round_trips(tiny_graphs, tmp_path):
    graphs, _ = tiny_graphs
    y = _additive_graph_cost(graphs)
    test = np.arange(len(graphs)) % 3 == 0
    model = get_predictor("opsum").fit_graphs([g for g, t in zip(graphs, test) if not t], y[~test])
    pred = model.predict_graphs([g for g, t in zip(graphs, test) if t])
    assert np.max(np.abs(pred / y[test] - 1)) < 1e-6
    assert np.all(model.predict_graphs(graphs) >= 0)
    assert np.array_equal(load_predictor(model.save(tmp_path / "opsum")).predict_graphs(graphs),
                          model.predict_graphs(graphs))
    with pytest.raises(HwnasUsageError, match="alpha must be >= 0"):
        get_predictor("opsum", alpha=-1)


def test_gcn_on_an_opsum_base_starts_at_the_base_and_keeps_an_exact_one(tiny_graphs, tmp_path):
    graphs, _ = tiny_graphs
    y = _additive_graph_cost(graphs)
    options = dict(hidden=16, layers=2, batch_size=8, seed=0)
    untrained = get_predictor("gcn", base="opsum", epochs=0, **options).fit_graphs(graphs, y)
    base = untrained.base_model.predict_graphs(graphs)
    assert np.allclose(untrained.predict_graphs(graphs), base, rtol=1e-9)  # zero correction at the start
    trained = get_predictor("gcn", base="opsum", epochs=30, **options).fit_graphs(graphs, y)
    pred = trained.predict_graphs(graphs)
    assert np.max(np.abs(pred / y - 1)) < 0.02
    plain = get_predictor("gcn", base="none", epochs=30, **options).fit_graphs(graphs, y).predict_graphs(graphs)
    assert np.max(np.abs(pred / y - 1)) < np.max(np.abs(plain / y - 1))
    assert np.array_equal(load_predictor(trained.save(tmp_path / "based")).predict_graphs(graphs), pred)
    with pytest.raises(HwnasUsageError, match="gcn base must be one of"):
        get_predictor("gcn", base="ridge")


def test_gcn_auto_base_is_taken_only_where_the_cost_is_additive_per_op(tiny_graphs, tmp_path):
    graphs, _ = tiny_graphs
    options = dict(hidden=16, layers=2, batch_size=8, epochs=2, seed=0)  # base=auto is the default
    additive = get_predictor("gcn", **options).fit_graphs(graphs, _additive_graph_cost(graphs))
    assert additive.base_model is not None and additive.base_fit_rms < 1e-6
    convex = np.array([math.exp(g.num_nodes / 6) for g in graphs])  # far from a sum of per-op costs
    plain = get_predictor("gcn", **options).fit_graphs(graphs, convex)
    assert plain.base_model is None and plain.base_fit_rms > 0.01
    same = get_predictor("gcn", base="none", **options).fit_graphs(graphs, convex)
    assert np.array_equal(plain.predict_graphs(graphs), same.predict_graphs(graphs))  # = the plain network
    again = load_predictor(additive.save(tmp_path / "auto"))
    assert again.base_model is not None
    assert np.array_equal(again.predict_graphs(graphs), additive.predict_graphs(graphs))


def test_graph_cache_exports_once(tmp_path, monkeypatch):
    from hwnas.predictors import graphs as graph_mod

    arch = SPACE.arch_at(6111)
    g = graph_mod.graph_for_arch("nb201", arch, "cifar10", cache_dir=tmp_path)
    assert graph_mod.graph_path("nb201", arch, "cifar10", tmp_path).is_file()
    assert g.num_nodes > 100 and np.all(g.feature("live") == 1)

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although cached")

    monkeypatch.setattr(graph_mod, "export_graph", no_export)
    (again,) = graph_mod.graphs_for_archs("nb201", [arch], "cifar10", cache_dir=tmp_path)
    assert np.array_equal(again.features, g.features) and np.array_equal(again.edges, g.edges)


def test_nb201_graph_builder_equals_the_torch_export():
    """The node-by-node NB201 model (`hwnas.predictors.nb201_onnx`) gives the exported file's graph
    array for array -- op types, features, edges, node names -- on edge cases (all-none, all-skip,
    each op alone, the pool-heavy arch 11224) and random cells, on all three datasets."""
    from hwnas.predictors.graphs import export_graph

    genotypes = [(0,) * 6, (1,) * 6, (2,) * 6, (3,) * 6, (4,) * 6, (0, 2, 3, 4, 1, 0),
                 tuple(SPACE.arch_at(11224).genotype)]
    genotypes += [tuple(a.genotype) for a in _archs(5, 3)]
    datasets = ("cifar10", "cifar100", "imagenet16-120")
    for i, genotype in enumerate(genotypes):
        arch, dataset = SPACE.from_genotype(genotype), datasets[i % 3]
        built = export_graph("nb201", arch, dataset, via="builder")
        exported = export_graph("nb201", arch, dataset, via="torch")
        assert built.differing_fields(exported) == [], (genotype, dataset)
    assert np.array_equal(export_graph("nb201", arch, dataset).features, built.features)  # auto = builder
    with pytest.raises(ValueError, match="opset 17 only"):
        export_graph("nb201", arch, dataset, opset=13, via="builder")


def test_opsum_reproduces_measured_eyeriss_and_fpga_latency_from_nb201_graphs(tmp_path):
    """HW-NAS-Bench's Eyeriss and FPGA latencies (shipped measurements) are sums of per-op costs:
    fitted on 30 NB201 graphs, opsum prices 10 others to 1e-5 -- only because the graphs keep one
    node per op (the exporter's merging of identical pools would leave errors of ~15 %)."""
    from hwnas.devices import measured_column
    from hwnas.predictors.graphs import graphs_for_archs

    archs = _archs(40, 11)
    graphs = graphs_for_archs("nb201", archs, "cifar10", cache_dir=tmp_path)
    index = [SPACE.index(a) for a in archs]
    for device in ("eyeriss", "fpga"):
        y = measured_column("nb201", device, "latency")[index]
        model = get_predictor("opsum").fit_graphs(graphs[:30], y[:30])
        assert np.max(np.abs(model.predict_graphs(graphs[30:]) / y[30:] - 1)) < 1e-5, device


# --- the train/evaluate protocol on the shipped measurements ----------------------------------------
def test_train_predictor_on_measured_raspi4():
    r = train_predictor("raspi4", "latency", "ridge", train_size=300, seed=0, test_size=400)
    assert (r.train_size, r.test_size, r.unit) == (300, 400, "ms")
    assert not set(r.train_indices) & set(r.test_indices)
    assert r.metrics.n == 400 and r.metrics.spearman > 0.85
    assert r.baseline is not None and r.baseline.spearman > 0.8
    assert r.predictor.trained_on["device"] == "raspi4"
    again = train_predictor("rpi4", "latency", "ridge", train_size=300, seed=0, test_size=400, baseline=False)
    assert np.array_equal(again.train_indices, r.train_indices) and again.metrics == r.metrics


def test_train_predictor_flops_on_a_subset_device():
    r = train_predictor("edgegpu", "latency", "flops", train_size=100, seed=1, test_size=200)
    assert r.device == "jetson-tx2" and r.metrics.n == 200 and r.baseline == r.metrics
    from hwnas.devices import measured_column

    measured = np.isfinite(measured_column("nb201", "jetson-tx2", "latency"))
    assert measured.sum() == 1999 and measured[r.train_indices].all() and measured[r.test_indices].all()
    assert r.metrics.spearman > 0.3  # FLOPs rank TX2 latency poorly (0.47 here): why graph models exist


def test_train_predictor_applies_the_options_validated_for_the_device(tmp_path):
    """raspi4's gcn leaves out operand_slot (chosen on a validation split, hwnas.predictors.tuned),
    jetson-tx2's reads it; an explicit option wins over the validated one."""
    from hwnas.predictors.tuned import tuned_hparams

    assert tuned_hparams("raspi4", "gcn") == {"operand_order": False} and tuned_hparams("jetson-tx2", "gcn") == {}
    quick = {"train_size": 12, "test_size": 4, "seed": 0, "epochs": 1, "cache_dir": str(tmp_path), "baseline": False}
    r = train_predictor("rpi4", "latency", "gcn", **quick)
    assert r.predictor.hparams["operand_order"] is False
    assert r.summary()["tuned_hparams"] == {"operand_order": False}
    assert train_predictor("edgegpu", "latency", "gcn", **quick).predictor.hparams["operand_order"] is True
    forced = train_predictor("raspi4", "latency", "gcn", operand_order=True, **quick)
    assert forced.predictor.hparams["operand_order"] is True and "tuned_hparams" not in forced.summary()


@pytest.mark.parametrize("kwargs,fragment", [
    ({"device": "raspberry"}, "unknown device"),
    ({"device": "raspi4", "model": "transformer"}, "unknown predictor model"),
    ({"device": "raspi4", "metric": "energy"}, "has no energy data; it has: latency"),
    ({"device": "raspi4", "metric": "power"}, "unknown metric"),
    ({"device": "eyeriss", "metric": "energy"}, "no measured energy"),
    ({"device": "raspi4", "train_size": 15_625}, "out of range"),
])
def test_train_predictor_usage_errors(kwargs, fragment):
    args = {"metric": "latency", "model": "ridge", **kwargs}
    with pytest.raises(HwnasUsageError, match=fragment) as err:
        train_predictor(**args)
    assert "\n" not in str(err.value)


def test_cli_predictors_group(tmp_path, capsys):
    from hwnas.cli import cli, main
    from hwnas.commands.predictors import predictors_group

    if "predictors" not in cli.commands:
        cli.add_command(predictors_group)
    assert main(["predictors", "list"]) == 0
    assert "gcn" in capsys.readouterr().out
    assert main(["predictors", "train", "--device", "nope", "--model", "ridge"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hwnas: error: unknown device") and err.count("\n") == 1
    assert main(["predictors", "train", "--device", "raspi4", "--model", "ridge", "--train-size", "200",
                 "--test-size", "300", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Spearman" in out and "flops (baseline)" in out
    assert (tmp_path / "raspi4-latency-ridge" / "metrics.json").is_file()
    assert load_predictor(tmp_path / "raspi4-latency-ridge").trained_on["train_size"] == 200
