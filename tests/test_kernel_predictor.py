"""The nn-Meter-style kernel predictor: kernel detection (hand-built ONNX graphs with and without
folded BatchNorm, one NB201 network), fit/predict on measured NB201 latencies, numpy trees vs
scikit-learn, save/load parity, and the nn-meter model's missing-package error."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.errors import HwnasUsageError
from hwnas.predictors import get_predictor, load_predictor
from hwnas.predictors.kernel_split import KERNEL_FEATURES, load_rules, parse_rules, rule_names, split_kernels
from hwnas.predictors.onnx_graph import graph_from_onnx


def _block_model(folded: bool, branch: bool = False):
    """input [1,8,8,8] -> Conv(+BN)+Relu -> depthwise Conv(+BN)+Relu -> Add(input) -> Relu ->
    GlobalAveragePool -> Flatten -> Gemm. ``branch``: the first Conv's output also feeds the Add
    (two consumers: nothing can fuse after it)."""
    from onnx import TensorProto, helper, numpy_helper

    c = 8
    inits, nodes = [], []

    def w(name, shape):
        inits.append(numpy_helper.from_array(np.full(shape, 0.1, dtype=np.float32), name))
        return name

    def conv(name, x, group):
        ins = [x, w(f"{name}.w", (c, c // group, 3, 3))] + ([w(f"{name}.b", (c,))] if folded else [])
        nodes.append(helper.make_node("Conv", ins, [f"{name}_out"], name=name, group=group, kernel_shape=[3, 3],
                                      pads=[1, 1, 1, 1], strides=[1, 1]))
        out = f"{name}_out"
        if not folded:
            bn = [w(f"{name}.bn{i}", (c,)) for i in range(4)]
            nodes.append(helper.make_node("BatchNormalization", [out, *bn], [f"{name}_bn"], name=f"{name}_bn"))
            out = f"{name}_bn"
        nodes.append(helper.make_node("Relu", [out], [f"{name}_relu"], name=f"{name}_relu"))
        return f"{name}_relu", out

    a, a_pre = conv("conv", "input", 1)
    b, _ = conv("dw", a, c)
    nodes.append(helper.make_node("Add", [b, a_pre if branch else "input"], ["sum"], name="add"))
    nodes.append(helper.make_node("Relu", ["sum"], ["sum_relu"], name="add_relu"))
    nodes.append(helper.make_node("GlobalAveragePool", ["sum_relu"], ["gap"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flat", axis=1))
    nodes.append(helper.make_node("Gemm", ["flat", w("fc.w", (10, c)), w("fc.b", (10,))], ["logits"], name="fc",
                                  transB=1))
    graph = helper.make_graph(nodes, "block", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, c, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


EXPECTED_BLOCK = {"conv-bn-relu": 1, "dwconv-bn-relu": 1, "add-relu": 1, "global-pool": 1, "gemm": 1}


@pytest.mark.parametrize("folded", [True, False])
def test_kernels_of_a_hand_built_graph_with_and_without_folded_bn(folded):
    g = graph_from_onnx(_block_model(folded))
    s = split_kernels(g)
    assert s.counts() == EXPECTED_BLOCK
    assert g.num_nodes == (9 if folded else 11) and s.node_kernel.min() == 0 and s.num_kernels == 5
    conv = s.configs()[0]
    assert conv["type"] == "conv-bn-relu" and conv["in_channels"] == 8 and conv["out_channels"] == 8
    assert (conv["in_h"], conv["kernel"], conv["stride"], conv["groups"]) == (8, 3, 1, 1)
    assert conv["live"] == 1 and conv["n_ops"] == (2 if folded else 3)
    dw = s.configs()[1]
    assert dw["type"] == "dwconv-bn-relu" and dw["groups"] == 8 and dw["macs"] == 8 * 8 * 8 * 9
    assert dw["weight_bytes"] >= 8 * 9 * 4


def test_a_tensor_with_two_consumers_is_not_fused():
    s = split_kernels(graph_from_onnx(_block_model(folded=True, branch=True)))
    # the first Conv's output feeds its Relu and the Add: conv-bn alone, relu alone
    assert s.counts() == {"conv-bn": 1, "relu": 1, "dwconv-bn-relu": 1, "add-relu": 1, "global-pool": 1, "gemm": 1}
    assert split_kernels(graph_from_onnx(_block_model(True)), "unfused").num_kernels == 9


def test_rule_files_parse_and_reject_nonsense():
    assert {"default", "unfused"} <= set(rule_names())
    rules = load_rules("default")
    assert rules.rules[0].kernel == "dwconv-bn-relu"
    with pytest.raises(ValueError):
        parse_rules('{"format": "hwnas-kernel-rules", "fusions": [{"kernel": "x", "ops": ["Relu?"]}]}')
    with pytest.raises(HwnasUsageError):
        load_rules("no-such-rules")


def test_kernels_of_an_nb201_network_match_its_cell():
    from hwnas.predictors.graphs import export_graph
    from hwnas.spaces import get_space

    sp = get_space("nb201")
    arch = sp.from_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    s = split_kernels(export_graph("nb201", arch, "cifar10"))
    # per cell (15): 6 conv-bn; 5 relu (3 on the cell input, 2 on node 1, which has two consumers);
    # node 2's Add has one consumer, edge 2->3's Relu: add-relu; node 3's two Adds.
    # stem conv-bn; per reduction (2): avg-pool + 1x1 conv-bn, relu + conv-bn-relu (conv_a) + conv-bn
    # (conv_b), add; head: bn-relu, global-pool (+flatten), gemm.
    assert s.counts() == {"conv-bn": 15 * 6 + 1 + 2 * 2, "relu": 15 * 5 + 2, "add-relu": 15, "add": 15 * 2 + 2,
                          "pooling": 2, "conv-bn-relu": 2, "bn-relu": 1, "global-pool": 1, "gemm": 1}
    assert s.features.shape == (s.num_kernels, len(KERNEL_FEATURES))
    # a none edge makes ops dead: the Mul by zero is a kernel that is not live
    dead = sp.from_str("|none~0|+|nor_conv_3x3~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    s = split_kernels(export_graph("nb201", dead, "cifar10"))
    assert "mul" in s.counts() and not s.feature("live")[s.types == "mul"].any()


@pytest.fixture(scope="module")
def measured_nb201(tmp_path_factory):
    """~200 measured raspi4 NB201 latencies (shipped tables) and their graphs (train 150, test 60)."""
    from hwnas.predictors.graphs import graphs_for_archs
    from hwnas.predictors.train import measured_targets
    from hwnas.spaces import get_space

    try:
        values, _ = measured_targets("nb201", "raspi4", "latency", "cifar10")
    except HwnasUsageError as exc:
        pytest.skip(f"no measured raspi4 NB201 latency: {exc}")
    measured = np.flatnonzero(np.isfinite(values))
    if measured.size < 210:
        pytest.skip("fewer than 210 measured raspi4 NB201 latencies")
    idx = np.random.default_rng(0).choice(measured, size=210, replace=False)
    sp = get_space("nb201")
    archs = [sp.arch_at(int(i)) for i in idx]
    graphs = graphs_for_archs("nb201", archs, "cifar10", cache_dir=tmp_path_factory.mktemp("graphs"))
    return graphs, values[idx]


def test_kernel_predictor_beats_a_constant_on_measured_nb201(measured_nb201, tmp_path):
    graphs, y = measured_nb201
    train, test = slice(0, 150), slice(150, None)
    pred = get_predictor("nn-meter-style", n_estimators=10, rules_device="raspi4")
    assert pred.name == "kernel"
    pred.fit_graphs(graphs[train], y[train])
    p = pred.predict_graphs(graphs[test])
    const = np.full(p.size, np.median(y[train]))
    rmse = lambda q: float(np.sqrt(np.mean((q - y[test]) ** 2)))  # noqa: E731
    from scipy.stats import spearmanr

    assert rmse(p) < 0.5 * rmse(const)
    assert spearmanr(p, y[test]).statistic > 0.8
    assert np.all(p >= 0) and pred.last_unseen == 0
    # per-kernel predictions sum to the network's
    per_kernel = pred.kernel_predictions([pred.split(g) for g in graphs[test][:3]])
    assert np.allclose([pred.overhead + k.sum() for k in per_kernel], p[:3])
    # save / load: identical predictions, no pickles
    folder = pred.save(tmp_path / "kernel")
    with np.load(folder / "weights.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    again = load_predictor(folder)
    assert np.array_equal(again.predict_graphs(graphs[test]), p)
    assert again.rules.text == pred.rules.text


def test_other_regressors_fit_and_reload(measured_nb201, tmp_path):
    graphs, y = measured_nb201
    for options in ({"regressor": "gbr", "n_estimators": 10, "two_level": False},
                    {"init": "linear", "rounds": 1, "n_estimators": 5}):
        pred = get_predictor("kernel", **options).fit_graphs(graphs[:60], y[:60])
        p = pred.predict_graphs(graphs[150:])
        assert np.all(np.isfinite(p))
        again = load_predictor(pred.save(tmp_path / options.get("regressor", "linear")))
        assert np.array_equal(again.predict_graphs(graphs[150:]), p)


def test_numpy_trees_match_scikit_learn():
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

    from hwnas.predictors.kernel_trees import TreeEnsemble

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)) * [1, 10, 100, 1e3, 1e5, 1e7]
    y = x[:, 0] + np.sin(x[:, 1]) + 1e-7 * x[:, 5]
    for model in (RandomForestRegressor(n_estimators=7, random_state=0),
                  GradientBoostingRegressor(n_estimators=15, random_state=0)):
        model.fit(x, y)
        ens = TreeEnsemble.from_sklearn(model)
        assert np.allclose(ens.predict(x), model.predict(x), rtol=1e-12, atol=1e-12)
        back = TreeEnsemble.from_arrays(ens.arrays("p_"), "p_")
        assert np.array_equal(back.predict(x), ens.predict(x))


def test_kernel_predictor_prices_any_onnx_file(tmp_path):
    import onnx

    models = [_block_model(True), _block_model(False), _block_model(True, branch=True)]
    paths = []
    for i, m in enumerate(models):
        paths.append(tmp_path / f"m{i}.onnx")
        onnx.save(m, str(paths[-1]))
    pred = get_predictor("kernel", n_estimators=3)
    graphs = [graph_from_onnx(p) for p in paths]
    pred.fit_graphs(graphs, [1.0, 1.2, 1.5])
    out = pred.predict_onnx(paths)
    assert out.shape == (3,) and np.all(np.isfinite(out))


def test_nn_meter_without_the_package_says_how_to_get_it():
    try:
        import nn_meter  # noqa: F401

        pytest.skip("nn-meter is installed here")
    except Exception:  # noqa: BLE001
        pass
    with pytest.raises(HwnasUsageError) as err:
        get_predictor("nn-meter")
    text = str(err.value)
    assert "\n" not in text and "pip install 'hwnas[nnmeter]'" in text and "hwnas never downloads" in text


def test_fbnet_block_table_rows_train_kernels_without_overhead(tmp_path):
    pytest.importorskip("hwnas.spaces.fbnet")
    from hwnas.devices.fbnet import block_keys
    from hwnas.predictors.kernel_blocks import fbnet_block_rows, parse_block_key

    fixed, layers = block_keys("cifar100")
    keys = [fixed[0], layers[1][0], layers[1][1], layers[1][3], layers[1][8], layers[0][8]]
    assert parse_block_key(keys[1])[0] == "ConvBlock"
    graphs, y, used = fbnet_block_rows("raspi4", "latency", "cifar100", cache_dir=tmp_path, keys=keys)
    assert 4 <= len(graphs) <= len(keys) and y.size == len(graphs) and np.all(y > 0)
    counts = split_kernels(graphs[used.index(keys[1])]).counts()  # k3_e1: 1x1 conv, dw 3x3, 1x1 conv
    assert counts.get("conv-bn-relu", 0) + counts.get("conv-bn", 0) == 2 and counts["dwconv-bn-relu"] == 1
    # the grouped block reshapes by a computed shape (channel shuffle): shapes still known after it
    shuffled = split_kernels(graphs[used.index(keys[2])])
    convs = np.char.find(shuffled.types.astype(str), "conv") >= 0
    assert convs.sum() == 3 and np.all(shuffled.feature("macs")[convs] > 0)
    pred = get_predictor("kernel", n_estimators=5).fit_graphs([], [], block_graphs=graphs, block_targets=y)
    assert pred.overhead == 0.0
    assert np.allclose(pred.predict_graphs(graphs), y, rtol=0.05)


def _fbnet_test_archs():
    from hwnas.spaces import get_space

    sp = get_space("fbnet")
    # every op at some layer: identity skips (layer 8), skip projections (layers 1 and 17, stride 2 at
    # 17), grouped blocks with a channel shuffle (ops 1, 5); plus two random networks
    return [sp.from_genotype([i % 9 for i in range(22)]), *sp.sample(np.random.default_rng(5), 2)]


@pytest.fixture(scope="module")
def fbnet_parts_cache(tmp_path_factory):
    """One graph cache for the FBNet builder tests (each part is exported once)."""
    pytest.importorskip("hwnas.spaces.fbnet")
    return tmp_path_factory.mktemp("fbnet-graphs")


def test_fbnet_graphs_composed_from_parts_equal_the_exported_network(fbnet_parts_cache):
    """The fast builder gives the graph of exporting the whole network (op types, features, edges,
    node names) and so the same kernels."""
    from hwnas.predictors.graphs import graph_path
    from hwnas.predictors.kernel_blocks import fbnet_network_graph, network_graph

    tmp_path = fbnet_parts_cache
    for arch in _fbnet_test_archs():
        fast = fbnet_network_graph(arch.genotype, "cifar100", cache_dir=tmp_path)
        slow = network_graph("fbnet", arch, "cifar100")
        assert fast.differing_fields(slow) == [], arch.genotype
        a, b = split_kernels(fast), split_kernels(slow)
        assert np.array_equal(a.types, b.types) and np.array_equal(a.features, b.features)
        assert np.array_equal(a.node_kernel, b.node_kernel)
        assert graph_path("fbnet", arch, "cifar100", tmp_path).is_file()
    # shapes survive the channel shuffles: every conv has MACs
    convs = fast.op_types == "Conv"
    assert convs.sum() > 22 and np.all(fast.feature("macs")[convs] > 0)


def test_fbnet_composed_graphs_are_cached_where_graph_predictors_read_them(fbnet_parts_cache, monkeypatch):
    from hwnas.predictors.kernel_blocks import fbnet_network_graphs
    from hwnas.predictors.onnx_graph import GRAPH_VERSION

    archs = _fbnet_test_archs()
    graphs = fbnet_network_graphs([a.genotype for a in archs], "cifar100", cache_dir=fbnet_parts_cache)
    pred = get_predictor("kernel", space="fbnet", dataset="cifar100")
    pred.cache_dir = fbnet_parts_cache
    again = pred.graphs(archs)  # read from the graph cache, not exported again
    assert all(not g.differing_fields(h) for g, h in zip(graphs, again))
    parts = fbnet_parts_cache / f"v{GRAPH_VERSION}" / "fbnet-parts" / "cifar100" / "opset17"
    assert len(list(parts.glob("*.onnx"))) >= 30
    # a new process composes from the parts on disk: no export, same graph
    import hwnas.export
    from hwnas.predictors.kernel_blocks import _part_onnx, fbnet_network_graph

    def no_export(*args, **kwargs):
        raise AssertionError("a cached part was exported again")

    monkeypatch.setattr(hwnas.export, "export_onnx", no_export)
    _part_onnx.cache_clear()
    fresh = fbnet_network_graph(archs[1].genotype, "cifar100", fbnet_parts_cache, use_cache=False)
    assert not fresh.differing_fields(graphs[1])
