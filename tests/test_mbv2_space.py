"""The mbv2 (TF-NAS) space: encoding, builder, isomorphisms, cost table, TF-NAS's latency formula
on the shipped tables (and against the data directory's copy where present), ONNX export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hwnas import HwnasUsageError, get_space
from hwnas.counting import model_cost
from hwnas.data import find_data_dir
from hwnas.devices import tfnas
from hwnas.init import build_seeded
from hwnas.spaces.mbv2 import LAYERS, NUM_LAYERS, SKIP, STAGES, block_choice, lut_key
from hwnas.spaces.mbv2_ops import MBInvertedResBlock

SPACE = get_space("mbv2")
LUTS = ("cpu-xeon6130-bs1", "gpu-titanrtx-bs32")
SOURCES = {"cpu-xeon6130-bs1": "mbv2/tfnas_lut_cpu_xeon6130_bs1_ms.json",
           "gpu-titanrtx-bs32": "mbv2/tfnas_lut_gpu_titanrtx_bs32_ms.json"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _sample(n: int, seed: int = 0):
    return SPACE.sample(np.random.default_rng(seed), n)


def _source(name: str) -> dict:
    root = find_data_dir()
    path = None if root is None else root / SOURCES[name]
    if path is None or not path.is_file():
        pytest.skip(f"measurement data {SOURCES[name]} not found (set HWNAS_DATA_DIR or put shared/data beside the repo)")
    return json.loads(path.read_text())


def test_skeleton_is_tfnas():
    assert NUM_LAYERS == 18 and [s[3] for s in STAGES] == [2, 3, 4, 4, 4, 1]
    assert [(l.size, l.c_in, l.c_out, l.stride) for l in LAYERS if l.position == 0] == [
        (112, 16, 24, 2), (56, 24, 40, 2), (28, 40, 80, 2), (14, 80, 112, 1), (14, 112, 192, 2), (7, 192, 320, 1)]
    assert [l.act for l in LAYERS if l.position == 0] == ["relu"] + ["swish"] * 5
    assert sum(l.skippable for l in LAYERS) == 12
    lo, hi = SPACE.genotype_bounds
    assert len(lo) == 36 and hi[0::2].tolist() == [8 if l.skippable else 7 for l in LAYERS] and set(hi[1::2]) == {2}
    assert SPACE.num_archs == 24**6 * 27**12 and SPACE.index(_sample(1)[0]) is None
    assert get_space("mobilenetv2") is SPACE and SPACE.dataset("in1k").input_shape == (3, 224, 224)


def test_to_str_parse_round_trip():
    for arch in _sample(100):
        text = SPACE.to_str(arch)
        assert SPACE.parse(text) == arch and SPACE.parse(text.replace(",", ", ")) == arch
        assert SPACE.parse(",".join(map(str, arch.genotype))) == arch
    default = SPACE.parse(",".join(["k3_e6"] * 18))
    assert SPACE.to_str(default) == ",".join(["k3_e6@6"] * 18)


@pytest.mark.parametrize("text, match", [
    ("k3_e3@3", "got 1 item"),
    (",".join(["k3_e3@5"] + ["k3_e3"] * 17), "expansion must be one of 2, 3, 4"),
    (",".join(["skip"] + ["k3_e3"] * 17), "cannot replace the first layer of stage 1"),
    (",".join(["k3_e3", "skip@4"] + ["k3_e3"] * 16), "takes no expansion"),
    (",".join(["k7_e3"] + ["k3_e3"] * 17), "unknown mbv2 op 'k7_e3'"),
    (",".join(["k3_e3~1"] + ["k3_e3"] * 17), "only skip takes"),
    (",".join(["8", "0"] + ["0"] * 34), "not valid for space 'mbv2'"),
])
def test_bad_text_is_a_one_line_usage_error(text, match):
    with pytest.raises(HwnasUsageError, match=match) as info:
        SPACE.parse(text)
    assert "\n" not in str(info.value)


def test_key_merges_isomorphic_genotypes_only():
    base = ["k3_e3@3"] * 18
    a, b = list(base), list(base)
    a[6], b[8] = "skip", "skip~2"  # stage 3: layers 5..8; a dropped layer's position and width do not matter
    c, d = list(base), list(base)
    c[3], d[3] = "k5_e6@4", "k5_e3@4"  # same block: no SE, mid 4 x Cin
    e, f = list(base), list(base)
    e[3], f[3] = "k5_e6_se@4", "k5_e3_se@4"  # squeeze widths 2 Cin vs Cin: different blocks
    parse = lambda ops: SPACE.parse(",".join(ops))  # noqa: E731
    assert SPACE.key(parse(a)) == SPACE.key(parse(b)) and SPACE.canonical(parse(a)) == parse(b[:8] + ["skip"] + b[9:])
    assert SPACE.key(parse(c)) == SPACE.key(parse(d)) and SPACE.canonical(parse(c)) == parse(d)
    assert SPACE.key(parse(e)) != SPACE.key(parse(f))
    for arch in _sample(50):
        canon = SPACE.canonical(arch)
        assert SPACE.canonical(canon) == canon and SPACE.key(canon) == SPACE.key(arch)
        assert SPACE.cost(canon, "imagenet") == SPACE.cost(arch, "imagenet")
        for lut in LUTS:
            assert tfnas.tfnas_latency_ms([canon.genotype], lut) == tfnas.tfnas_latency_ms([arch.genotype], lut)


def test_builder_shapes_and_blocks():
    arch = _sample(1, seed=1)[0]
    model = SPACE.build(arch, "imagenet").eval()
    seen = []
    hooks = [b.register_forward_hook(lambda m, i, o: seen.append((i[0].shape, o.shape))) for b in model.blocks]
    with torch.no_grad():
        assert model(torch.randn(2, 3, 224, 224)).shape == (2, 1000)
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 1000)
    for h in hooks:
        h.remove()
    for layer, choice, block, (shape_in, shape_out) in zip(LAYERS, SPACE.choices(arch), model.blocks, seen[:18]):
        assert shape_in[1:] == (layer.c_in, layer.size, layer.size)
        if choice is None:
            assert isinstance(block, torch.nn.Identity)
            continue
        assert isinstance(block, MBInvertedResBlock) and block.mid == choice.mid and block.se == choice.se
        assert shape_out[1:] == (layer.c_out, layer.size // layer.stride, layer.size // layer.stride)
        assert block.residual == (layer.stride == 1 and layer.c_in == layer.c_out)


def test_cost_equals_counting_the_built_model():
    full = SPACE.parse(",".join(["k5_e6_se@8"] * 18))
    shallow = SPACE.parse(",".join("k3_e3@2" if l.position == 0 else "skip" for l in LAYERS))
    for arch in _sample(3, seed=2) + [full, shallow]:
        assert SPACE.cost(arch, "imagenet") == model_cost(SPACE.build(arch, "imagenet"), (3, 224, 224))


def test_shipped_block_cost_table_equals_counting():
    from hwnas.spaces.mbv2 import block_cost_table, count_block_costs

    assert np.array_equal(block_cost_table(), count_block_costs())


def test_build_is_deterministic_under_a_seed():
    arch = _sample(1, seed=3)[0]
    a, b = build_seeded(arch, "imagenet", 7).state_dict(), build_seeded(arch, "imagenet", 7).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_latency_of_a_hand_computed_genotype():
    """Stage 1: k3_e3@3, skip; stage 2: k5_e6_se@8, k3_e6@4, skip; the rest k3_e3@2 / skip."""
    tokens = ["k3_e3@3", "skip", "k5_e6_se@8", "k3_e6@4", "skip"] + [
        "k3_e3@2" if l.position == 0 else "skip" for l in LAYERS[5:]]
    arch = SPACE.parse(",".join(tokens))
    entries = [("MBInvertedResBlock_112_16_0_24_k3_s2_relu", 48),
               ("MBInvertedResBlock_56_24_48_40_k5_s2_swish", 192),
               ("MBInvertedResBlock_28_40_0_40_k3_s1_swish", 160),
               ("MBInvertedResBlock_28_40_0_80_k3_s2_swish", 80),
               ("MBInvertedResBlock_14_80_0_112_k3_s1_swish", 160),
               ("MBInvertedResBlock_14_112_0_192_k3_s2_swish", 224),
               ("MBInvertedResBlock_7_192_0_320_k3_s1_swish", 384)]
    for lut in LUTS:
        table = tfnas.load_lut(lut)
        expected = table.base_ms
        for key, mid in entries:
            expected += table.entry_ms(key, mid)
        assert tfnas.tfnas_latency_ms(np.array([arch.genotype]), lut)[0] == expected
    assert tfnas.tfnas_latency_ms(arch.genotype, "cpu")[0] > tfnas.tfnas_latency_ms(arch.genotype, "gpu")[0] > 0


def test_hand_computed_latency_from_the_data_directory():
    tokens = ["k5_e3_se@4"] * 18
    arch = SPACE.parse(",".join(tokens))
    for lut in LUTS:
        raw = _source(lut)
        expected = raw["base"]
        for layer in LAYERS:
            key = f"MBInvertedResBlock_{layer.size}_{layer.c_in}_{layer.c_in}_{layer.c_out}_k5_s{layer.stride}_{layer.act}"
            expected += raw[key][str(4 * layer.c_in)]
        assert tfnas.tfnas_latency_ms([arch.genotype], lut)[0] == expected


def test_every_layer_key_is_in_both_luts():
    for lut in LUTS:
        table = tfnas.load_lut(lut)
        used = set()
        for layer in LAYERS:
            for op in range(SKIP):
                for width in range(3):
                    choice = block_choice(layer, op, width)
                    key = lut_key(layer, choice)
                    assert np.isfinite(table.entry_ms(key, choice.mid)), key
                    used.add(key)
        assert used == set(table.keys) and len(used) == 66


def test_shipped_tables_equal_the_data_directory():
    for lut in LUTS:
        raw = _source(lut)
        table = tfnas.load_lut(lut)
        assert table.base_ms == raw.pop("base") and set(raw) == set(table.keys)
        for key, by_width in raw.items():
            k = table.keys.index(key)
            assert int(table.widths[k]) == len(by_width)
            assert table.values_ms[k, :len(by_width)].tolist() == [by_width[str(w)] for w in range(1, len(by_width) + 1)]


def test_latency_rejects_bad_input():
    with pytest.raises(HwnasUsageError, match=r"\[N, 36\]"):
        tfnas.tfnas_latency_ms(np.zeros((2, 22), dtype=int), "cpu")
    bad = np.zeros((1, 36), dtype=int)
    bad[0, 0] = SKIP
    with pytest.raises(HwnasUsageError, match="position 0"):
        tfnas.tfnas_latency_ms(bad, "cpu")
    with pytest.raises(HwnasUsageError, match="unknown TF-NAS latency table"):
        tfnas.tfnas_latency_ms(np.zeros((1, 36), dtype=int), "tpu")
    meta = tfnas.provenance()
    assert meta["upstream"]["commit"].startswith("08b31a2e") and meta["luts"]["gpu-titanrtx-bs32"]["batch_size"] == 32


def test_onnx_export_two_sampled_networks_at_small_resolution(tmp_path):
    from hwnas.export import calibrate_batchnorm, export_onnx

    for i, arch in enumerate(_sample(2, seed=4)):
        model = build_seeded(arch, "imagenet", 0)
        calibrate_batchnorm(model, (3, 64, 64))
        report = export_onnx(model, (3, 64, 64), tmp_path / f"{i}.onnx", metadata={"arch": SPACE.to_str(arch)})
        assert report.max_abs_diff is not None and report.max_abs_diff <= 1e-4


def test_onnx_export_224_through_the_api(tmp_path):
    from hwnas.api import export

    arch = _sample(1, seed=5)[0]
    result = export(SPACE.to_str(arch), tmp_path / "net.onnx", space="mbv2", dataset="imagenet")
    assert result.report.max_abs_diff <= 1e-4 and result.cost == SPACE.cost(arch, "imagenet")
