"""Build the shipped TF-NAS latency tables (hwnas/_data/tfnas_lut.npz + .json) from the data directory.

    python scripts/build_mbv2_lut.py [--data-dir ../shared/data]

Reads mbv2/tfnas_lut_cpu_xeon6130_bs1_ms.json and mbv2/tfnas_lut_gpu_titanrtx_bs32_ms.json (a
lossless JSON re-encoding of TF-NAS's latency_pkl/latency_cpu.pkl and latency_gpu.pkl), checks
that both hold 'base' and the same 66 block keys, each dense over widths 1..N, and that every
key the `mbv2` space can ask for is there, and writes (float64, exact; loaded with
allow_pickle=False):

* lut_names [2]; keys [66]; widths [66] (N of each key); base_ms [2];
* values_ms [2, 66, max N]: values_ms[t, k, w - 1] = table t's latency (ms) of key k at width w,
  NaN past N.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "hwnas" / "_data"
SOURCES = {
    "cpu-xeon6130-bs1": ("mbv2/tfnas_lut_cpu_xeon6130_bs1_ms.json", "latency_pkl/latency_cpu.pkl",
                         "Intel Xeon Gold 6130 @ 2.10GHz (CPU), MKL threads 1, PyTorch 1.1", 1),
    "gpu-titanrtx-bs32": ("mbv2/tfnas_lut_gpu_titanrtx_bs32_ms.json", "latency_pkl/latency_gpu.pkl",
                          "NVIDIA Titan RTX 24 GB (GPU), OpenMP threads 1, PyTorch 1.1 + cuDNN 7.6.0", 32),
}
UPSTREAM = {"name": "TF-NAS", "repo": "https://github.com/AberHu/TF-NAS",
            "commit": "08b31a2e6dc2386ae72890369847c2206745006a", "license": "MIT (Copyright (c) 2020 Aber Hu)",
            "provenance_note": "provenance/tfnas-latency-lut.md"}


def _read(path: Path) -> tuple[float, dict[str, np.ndarray]]:
    raw = json.loads(path.read_text())
    base = float(raw.pop("base"))
    table = {}
    for key, by_width in raw.items():
        widths = sorted(int(w) for w in by_width)
        if widths != list(range(1, len(widths) + 1)):
            raise SystemExit(f"{path}: {key} is not dense over widths 1..N")
        table[key] = np.array([float(by_width[str(w)]) for w in widths], dtype=np.float64)
    return base, table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: HWNAS_DATA_DIR or ../shared/data")
    args = parser.parse_args()
    from hwnas.data import find_data_dir
    from hwnas.spaces.mbv2 import LAYERS, NUM_WIDTHS, SKIP, block_choice, lut_key

    root = args.data_dir or find_data_dir()
    if root is None:
        raise SystemExit("no data directory: pass --data-dir or set HWNAS_DATA_DIR")
    names = list(SOURCES)
    read = {name: _read(root / SOURCES[name][0]) for name in names}
    keys = sorted(read[names[0]][1])
    for name in names[1:]:
        if sorted(read[name][1]) != keys:
            raise SystemExit(f"{name} has other block keys than {names[0]}")
    widths = np.array([len(read[names[0]][1][k]) for k in keys], dtype=np.int64)
    for name in names[1:]:
        if [len(read[name][1][k]) for k in keys] != widths.tolist():
            raise SystemExit(f"{name} has other widths than {names[0]}")
    values = np.full((len(names), len(keys), int(widths.max())), np.nan)
    for t, name in enumerate(names):
        for k, key in enumerate(keys):
            values[t, k, :widths[k]] = read[name][1][key]
    used = set()
    for layer in LAYERS:
        for op in range(SKIP):
            for w in range(NUM_WIDTHS):
                choice = block_choice(layer, op, w)
                key = lut_key(layer, choice)
                if key not in keys or choice.mid > widths[keys.index(key)]:
                    raise SystemExit(f"the tables lack {key} at width {choice.mid}")
                used.add(key)
    if used != set(keys):
        raise SystemExit(f"{len(set(keys) - used)} table keys are not blocks of the mbv2 space")

    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "tfnas_lut.npz", lut_names=np.array(names), keys=np.array(keys), widths=widths,
                        base_ms=np.array([read[n][0] for n in names]), values_ms=values)
    meta = {
        "file": "tfnas_lut.npz",
        "layout": "lut_names [2]; keys [66] block keys; widths [66] largest mid-channel count of each key; "
                  "base_ms [2]; values_ms float64 [2, 66, max width], values_ms[t, k, w - 1] = ms at mid "
                  "channels w, NaN past widths[k]",
        "provenance_label": "TF-NAS latency look-up tables (AberHu/TF-NAS, MIT), shipped copy",
        "upstream": UPSTREAM,
        "luts": {name: {"source_file": SOURCES[name][0], "upstream_path": SOURCES[name][1],
                        "device": SOURCES[name][2], "batch_size": SOURCES[name][3], "unit": "ms"}
                 for name in names},
        "units": {"base_ms": "ms", "values_ms": "ms (latency of one forward pass of the batch)"},
        "key_format": "MBInvertedResBlock_<input size>_<Cin>_<squeeze-excite width (0 = none)>_<Cout>"
                      "_k<kernel>_s<stride>_<relu|swish>; inner key = mid channels",
        "composition": "latency = base + sum of each present block's entry at its mid channels "
                       "(TF-NAS train_search.get_lookup_latency; hwnas.devices.tfnas.tfnas_latency_ms)",
        "base_covers": "first stem 3x3 conv 3->32 s2, second stem MBInvertedResBlock(32, 32, se 8, 16), "
                       "feature-mix 1x1 conv 320->1280, average pool, Linear 1280->1000",
        "caveats": [
            "measured at grid widths and linearly filled in by the TF-NAS authors: a few tiny widths hold "
            "slightly negative values (the mbv2 space uses widths >= 2 Cin)",
            "the provenance note calls the key's third number Cmid_fixed: in TF-NAS it is the "
            "squeeze-excite width (se_channels: 0, Cin for e3_se, 2 Cin for e6_se)",
            "PyTorch 1.1-era measurements; a table, not per-network measurements",
        ],
        "blocks": len(keys),
        "built_by": "scripts/build_mbv2_lut.py",
    }
    (OUT / "tfnas_lut.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {OUT / 'tfnas_lut.npz'}: {len(keys)} keys, widths {widths.min()}..{widths.max()}, "
          f"base {', '.join(f'{n} {read[n][0]:.4f} ms' for n in names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
