"""The FBNet space: encoding, builder shapes, layer structure against HW-NAS-Bench's block keys,
per-block counts against `lut_entry_counts`, the cached cost table, determinism and ONNX export."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from hwnas import HwnasUsageError, get_space
from hwnas.counting import count_flops, count_params, model_cost
from hwnas.devices import energy
from hwnas.devices.fbnet import OP_NAMES, block_keys
from hwnas.init import build_seeded
from hwnas.spaces.fbnet import NUM_LAYERS, cost_table, skeleton
from hwnas.spaces.fbnet_ops import ConvBlock, ConvNorm, Skip

SPACE = get_space("fbnet")
DATASETS = ("cifar100", "imagenet")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _sample(n: int, seed: int = 0):
    return SPACE.sample(np.random.default_rng(seed), n)


def test_encoding_bounds_and_registry():
    lo, hi = SPACE.genotype_bounds
    assert lo.tolist() == [0] * 22 and hi.tolist() == [8] * 22
    assert SPACE.num_archs == 9**22 and SPACE.index(_sample(1)[0]) is None
    assert get_space("FBNet-v1") is SPACE and set(SPACE.datasets) == set(DATASETS)
    assert SPACE.dataset("c100").name == "cifar100" and SPACE.dataset("in1k").name == "imagenet"


def test_to_str_parse_round_trip():
    for arch in _sample(50):
        text = SPACE.to_str(arch)
        assert text.split(",") == [OP_NAMES[g] for g in arch.genotype]
        assert SPACE.parse(text) == arch
        assert SPACE.parse(text.replace(",", " , ")) == arch  # spaces tolerated
        assert SPACE.parse(",".join(map(str, arch.genotype))) == arch
        assert str(arch) == text


@pytest.mark.parametrize("text, match", [
    ("k3_e1", "got 1 item"),
    (",".join(["k3_e1"] * 21 + ["k7_e1"]), "unknown FBNet op 'k7_e1'"),
    (",".join(["0"] * 21 + ["9"]), "not valid for space 'fbnet'"),
    (",".join(["0"] * 23), "got 23 item"),
    (",".join(["k3_e1"] * 21 + [""]), "got 22 item"),
    ("", "got 1 item"),
])
def test_bad_text_is_a_one_line_usage_error(text, match):
    with pytest.raises(HwnasUsageError, match=match) as info:
        SPACE.parse(text)
    assert "\n" not in str(info.value)


def test_unknown_dataset():
    with pytest.raises(HwnasUsageError, match="cifar100, imagenet"):
        SPACE.build(_sample(1)[0], "cifar10")


def test_key_merges_only_moved_identity_skips():
    base = ["k3_e1"] * NUM_LAYERS
    a, b = list(base), list(base)
    a[5], b[7] = "skip", "skip"  # layers 5..8 = stage 2 (layer 5 is its first, stride 2: not an identity)
    a2, b2 = list(base), list(base)
    a2[6], b2[8] = "skip", "skip"  # layers 6 and 8: identity skips of one stage
    parse = lambda ops: SPACE.parse(",".join(ops))  # noqa: E731
    assert SPACE.key(parse(a)) != SPACE.key(parse(b))
    assert SPACE.key(parse(a2)) == SPACE.key(parse(b2)) == SPACE.to_str(SPACE.canonical(parse(a2)))
    assert SPACE.canonical(parse(a2)) == parse(b2)
    for arch in _sample(30):
        canon = SPACE.canonical(arch)
        assert SPACE.key(canon) == SPACE.key(arch) and SPACE.canonical(canon) == canon


@pytest.mark.parametrize("dataset", DATASETS)
def test_builder_shapes_and_layer_structure_match_block_keys(dataset):
    """Every layer's input H/W/Cin, output Cout and stride agree with HW-NAS-Bench's key of its op."""
    spec = SPACE.dataset(dataset)
    _, keys = block_keys(dataset)
    for arch in _sample(2, seed=1):
        model = SPACE.build(arch, dataset).eval()
        seen = []
        hooks = [layer.register_forward_hook(lambda m, i, o: seen.append((i[0].shape, o.shape)))
                 for layer in model.layers]
        with torch.no_grad():
            out = model(torch.randn(2, *spec.input_shape))
        for h in hooks:
            h.remove()
        assert out.shape == (2, spec.num_classes)
        assert len(seen) == NUM_LAYERS
        for i, ((shape_in, shape_out), op) in enumerate(zip(seen, arch.genotype)):
            f = energy._fields(keys[i][op])
            assert (shape_in[1], shape_in[2], shape_in[3]) == (f["Cin"], f["H"], f["W"]), (i, keys[i][op])
            assert shape_out[1] == f["Cout"] and shape_in[2] // shape_out[2] == f["stride"]


@pytest.mark.parametrize("dataset", DATASETS)
def test_each_built_layer_matches_lut_entry_counts(dataset):
    """ConvBlock (plain and grouped), Skip (identity and projection), ConvNorm (stem, head) and FC:
    params and FLOPs of the built module equal `lut_entry_counts` of its HW-NAS-Bench key."""
    fixed, keys = block_keys(dataset)
    table = cost_table(dataset)
    sk = skeleton(dataset)
    kinds = set()
    for i in range(NUM_LAYERS):
        for op in range(9):
            flops, _, params = energy.lut_entry_counts(keys[i][op])
            assert (table.flops[i, op], table.params[i, op]) == (flops, params), keys[i][op]
            kinds.add(keys[i][op].split("_")[0] + ("_id" if flops == 0 else ""))
    assert kinds == {"ConvBlock", "Skip", "Skip_id"}
    model = SPACE.build(_sample(1)[0], dataset)
    for module, key, shape in ((model.stem, fixed[0], (3, sk.input_size, sk.input_size)),
                               (model.head, fixed[1], (sk.head_in, sk.head_size, sk.head_size)),
                               (model.fc, fixed[3], (sk.head_channels,))):
        flops, _, params = energy.lut_entry_counts(key)
        assert (count_flops(module, shape), count_params(module)) == (flops, params), key
    assert isinstance(model.stem, ConvNorm) and isinstance(model.head, ConvNorm)


def test_grouped_blocks_shuffle_channels_and_identity_skips_are_free():
    block = ConvBlock(16, 16, 1, 3, 1, 2)
    assert block.shuffle is not None and block.residual
    x = torch.arange(8.0).view(1, 8, 1, 1)
    assert block.shuffle(x).flatten().tolist() == [0, 4, 1, 5, 2, 6, 3, 7]
    assert Skip(16, 16, 1).project is None and Skip(16, 24, 1).project is not None
    assert energy.lut_entry_counts("Skip_H32_W32_Cin16_Cout16_stride1") == (0, 0, 0)


@pytest.mark.parametrize("dataset", DATASETS)
def test_cost_table_equals_counting_the_built_model(dataset):
    shape = SPACE.dataset(dataset).input_shape
    for arch in _sample(4, seed=2) + [SPACE.parse(",".join(["skip"] * 22)), SPACE.parse(",".join(["k5_e6"] * 22))]:
        assert SPACE.cost(arch, dataset) == model_cost(SPACE.build(arch, dataset), shape), SPACE.to_str(arch)


def test_build_is_deterministic_under_a_seed():
    arch = _sample(1, seed=3)[0]
    a, b = build_seeded(arch, "cifar100", 7), build_seeded(arch, "cifar100", 7)
    c = build_seeded(arch, "cifar100", 8)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa if sa[k].dtype.is_floating_point)


def _export(tmp_path, arch, dataset):
    from hwnas.api import export

    start = time.perf_counter()
    result = export(SPACE.to_str(arch), tmp_path / "net.onnx", space="fbnet", dataset=dataset)
    assert result.report.max_abs_diff is not None and result.report.max_abs_diff <= 1e-4
    return result, time.perf_counter() - start


def test_onnx_export_cifar100_two_sampled_networks(tmp_path):
    import onnx

    for arch in _sample(2, seed=4):
        result, _ = _export(tmp_path, arch, "cifar100")
        meta = {p.key: p.value for p in onnx.load(str(result.report.path)).metadata_props}
        assert meta["space"] == "fbnet" and meta["arch"] == SPACE.to_str(arch) and "arch_index" not in meta
        assert result.cost == SPACE.cost(arch, "cifar100")


def test_onnx_export_imagenet_one_network(tmp_path):
    """224x224: about 1 s on one core, so the test keeps it."""
    _, seconds = _export(tmp_path, _sample(1, seed=5)[0], "imagenet")
    assert seconds < 30
