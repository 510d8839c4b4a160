"""Build the shipped measured-cost tables in hwnas/_data from the data directory.

    python scripts/build_measured_tables.py [--data-dir ../shared/data]

Writes (npz loaded with allow_pickle=False, float32 with NaN = not measured, + JSON provenance
with one record per column):

* nb201_measured.npz/.json -- every measured NAS-Bench-201 latency, rows = NB201 index 0..15624:
  nb201/latency_help_27dev_ms.csv (HELP, 27 device configs incl. HW-NAS-Bench's raspi4, pixel3,
  eyeriss, fpga), nb201/latency_oneproxy_1999_18dev_ms.csv (1,999 archs: HW-NAS-Bench's Jetson TX2
  and Edge TPU, Eagle devices, nn-Meter devices), nb201/latency_eagle_i7_7820x_ms.csv (15,284).
  Columns that duplicate another source (OneProxy's rice_eyeriss/fpga/pixel3/raspi4 = HELP's,
  OneProxy's eagle_i7 = the Eagle file) are checked equal and stored once.
* fbnet_measured.npz/.json -- HELP's 5,000 FBNet archs (op ids) x their 27 device configs, less
  the four that equal the HW-NAS-Bench block LUT (checked).
* fbnet_lut.npz/.json -- HW-NAS-Bench's FBNet per-block table (float64, exact), checked to
  reproduce fbnet/hwnasbench_fbnet_5000_metrics.csv.

Device names come from hwnas.devices (every upstream column name is an alias of its device).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "hwnas" / "_data"
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
N_NB201 = 15_625

HWNASBENCH = {"name": "HW-NAS-Bench", "repo": "https://github.com/GATECH-EIC/HW-NAS-Bench", "license": "MIT"}
HELP = {"repo": "https://github.com/HayeonLee/HELP", "commit": "45f70eb92d0d735970a33b608d1544ad3c52f285",
        "license": "MIT", "provenance_note": "provenance/help.md"}
ONEPROXY = {"repo": "https://github.com/Ren-Research/OneProxy", "commit": "e3c9b2c65113e16f1208988287810b283674f4de",
            "license": "MIT", "provenance_note": "provenance/oneproxy.md"}
EAGLE = {"repo": "https://github.com/zheng-ningxin/brp-nas", "commit": "53313d8dc7f3ef53fe8551824fdf9f55bd353677",
         "path": "examples/desktop-cpu-core-i7-7820x-fp32.pkl", "license": "Apache-2.0",
         "provenance_note": "provenance/eagle-brpnas.md",
         "note": "a fork of SamsungLabs/eagle (Apache-2.0) vendoring one file of the Eagle dataset"}
SIMISMORE = {"repo": "https://github.com/fracapuano/sim-is-more", "commit": "49dfd269b195a3dfc84d86b6b6751ef7738549c4",
             "path": "fbnet_cached_metrics.json", "license": "MIT",
             "provenance_note": "provenance/hwnasbench-fbnet-lut.md",
             "note": "json.dump of HWNASBenchAPI('HW-NAS-Bench-v1_0.pickle', 'fbnet').HW_metrics['fbnet']"}
EAGLE_ORIGIN = {"name": "BRP-NAS / Eagle", "repo": "https://github.com/SamsungLabs/eagle", "license": "Apache-2.0"}
NNMETER_ORIGIN = {"name": "nn-Meter", "repo": "https://github.com/microsoft/nn-Meter", "license": "MIT"}
HWNASBENCH_COLUMNS = {"eyeriss", "fpga", "pixel3", "raspi4"}  # HELP columns that are HW-NAS-Bench data


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def genotype_of(arch_str: str) -> tuple[int, ...]:
    edges = arch_str.strip("|").replace("|+|", "|").split("|")
    return tuple(NB201_OPS.index(e.split("~")[0]) for e in edges)


class Columns:
    """Accumulates float32 columns (NaN = not measured) and their provenance records."""

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.values: list[np.ndarray] = []
        self.records: list[dict] = []
        self.failed: list[tuple[int, int]] = []

    def add(self, values: np.ndarray, record: dict, failed_rows: "list[int] | None" = None) -> None:
        from hwnas.devices import get_device

        dev = get_device(record["device"])
        assert dev.name == record["device"], record
        col = np.asarray(values, dtype=np.float64)
        assert col.shape == (self.n_rows,)
        measured = int(np.isfinite(col).sum())
        record = {**record, "unit": dev.unit(record["metric"]), "batch_size": dev.batch_size, "measured_rows": measured}
        for row in failed_rows or []:
            self.failed.append((row, len(self.values)))
        self.values.append(col.astype(np.float32))
        self.records.append(record)

    def arrays(self) -> dict[str, np.ndarray]:
        failed = np.array(self.failed, dtype=np.int32).reshape(-1, 2)
        return {
            "values": np.stack(self.values, axis=1),
            "col_device": np.array([r["device"] for r in self.records]),
            "col_metric": np.array([r["metric"] for r in self.records]),
            "col_dataset": np.array([r["dataset"] or "" for r in self.records]),
            "failed_rows": failed[:, 0].copy(),
            "failed_cols": failed[:, 1].copy(),
        }


def build_nb201(data: Path) -> Columns:
    from hwnas.devices import get_device

    genotypes = np.load(OUT / "nb201_archs.npz", allow_pickle=False)["genotypes"]
    cols = Columns(N_NB201)

    # --- HELP: 27 configs, all 15,625 archs, row i = index i ---------------------------------
    help_file = "nb201/latency_help_27dev_ms.csv"
    header, rows = read_csv(data / help_file)
    assert len(rows) == N_NB201
    for i, row in enumerate(rows):
        assert int(row["nb201_index"]) == i and genotype_of(row["arch_str"]) == tuple(genotypes[i]), i
    help_values: dict[str, np.ndarray] = {}
    for column in header[2:]:
        x = np.array([float(r[column]) for r in rows])
        help_values[column] = x
        hw = column in HWNASBENCH_COLUMNS
        caveats = []
        if column in ("pixel3", "raspi4"):
            caveats.append("degenerate cells (no path from input to output) have near-zero latency")
        if np.all(x == np.round(x)):
            caveats.append("whole milliseconds (1 ms resolution) as released by HELP")
        cols.add(x, {
            "device": get_device(column).name, "metric": "latency",
            "dataset": "cifar10" if hw else None,
            "source_file": help_file, "source_column": column,
            "upstream": {**HELP, "path": f"data/nasbench201/latency/{column}.pt"},
            "origin": HWNASBENCH if hw else {"name": "HELP", "repo": HELP["repo"], "license": "MIT"},
            "input": "CIFAR-10 (32x32), batch 1: HW-NAS-Bench's cifar10 numbers (bit-identical)" if hw
                     else "not stated by the source",
            "caveats": caveats,
        })

    # --- Eagle i7-7820X: 15,284 archs ---------------------------------------------------------
    eagle_file = "nb201/latency_eagle_i7_7820x_ms.csv"
    _, rows = read_csv(data / eagle_file)
    eagle = np.full(N_NB201, np.nan)
    for row in rows:
        i = int(row["nb201_index"])
        assert genotype_of(row["arch_str"]) == tuple(genotypes[i])
        assert tuple(int(v) for v in row["arch_vector"].split()) == tuple(genotypes[i])
        assert np.isnan(eagle[i]), f"duplicate index {i}"
        eagle[i] = float(row["latency_ms"])
    cols.add(eagle, {
        "device": "i7-7820x", "metric": "latency", "dataset": None,
        "source_file": eagle_file, "source_column": "latency_ms", "upstream": EAGLE, "origin": EAGLE_ORIGIN,
        "input": "not stated by the source",
        "caveats": ["341 of the 15,625 archs are missing upstream",
                    "upstream stores seconds; converted to ms (x1000) when the CSV was derived"],
    })

    # --- OneProxy: 1,999 archs x 18 configs -----------------------------------------------------
    op_file = "nb201/latency_oneproxy_1999_18dev_ms.csv"
    header, rows = read_csv(data / op_file)
    index = np.array([int(r["nb201_index"]) for r in rows])
    assert len(set(index.tolist())) == len(rows) == 1999
    for r, i in zip(rows, index):
        assert genotype_of(r["arch_str"]) == tuple(genotypes[i])
    for column in header[3:]:
        x = np.array([float(r[column]) for r in rows])
        full = np.full(N_NB201, np.nan)
        failed: list[int] = []
        if column in ("rice_eyeriss", "rice_fpga", "rice_pixel3", "rice_raspi4"):
            same = help_values[column.removeprefix("rice_")][index]
            assert np.array_equal(x, same), f"{column} differs from HELP's column"
            print(f"  {column}: equal to HELP's {column.removeprefix('rice_')} on all 1,999 archs (stored once)")
            continue
        if column == "eagle_i7":
            assert np.allclose(x, eagle[index], rtol=1e-9, atol=0), "eagle_i7 differs from the Eagle file"
            print("  eagle_i7: equal to the Eagle i7-7820X file on all 1,999 archs (stored once)")
            continue
        caveats = []
        if column == "rice_edgetpu":
            bad = x < 0
            assert np.all(x[bad] == -1.0)
            failed = sorted(int(i) for i in index[bad])
            x = np.where(bad, np.nan, x)
            caveats.append(f"-1 upstream for {int(bad.sum())} archs = failed to compile for the Edge TPU "
                           "(not deployable, never a cost): stored as NaN and listed in failed_rows")
        if column == "eagle_gtx":
            caveats.append("nearly identical to eagle_i7 (means 6.16 vs 6.14 ms): possibly mislabelled upstream")
        assert np.all(x[np.isfinite(x)] > 0)
        full[index] = x
        hw = column.startswith("rice_")
        origin = HWNASBENCH if hw else EAGLE_ORIGIN if column.startswith("eagle_") else NNMETER_ORIGIN
        cols.add(full, {
            "device": get_device(column).name, "metric": "latency", "dataset": "cifar10" if hw else None,
            "source_file": op_file, "source_column": column,
            "upstream": {**ONEPROXY, "path": f"latency_data/{column}.pickle"}, "origin": origin,
            "input": "CIFAR-10 (32x32), batch 1 (HW-NAS-Bench)" if hw else "not stated by the source",
            "caveats": ["1,999-arch subset (the archs nn-Meter released)", *caveats],
        }, failed)
    return cols


def build_fbnet(data: Path) -> tuple[Columns, np.ndarray]:
    from hwnas.devices import get_device
    from hwnas.devices.fbnet import fbnet_costs

    help_file = "fbnet/latency_help_5000_27dev_ms.csv"
    header, rows = read_csv(data / help_file)
    ops = np.array([[int(v) for v in r["op_idx_list"].split()] for r in rows], dtype=np.uint8)
    assert ops.shape == (5000, 22) and ops.max() <= 8
    assert len({tuple(o) for o in ops.tolist()}) == len(ops), "duplicate FBNet archs"
    cols = Columns(len(rows))
    for column in header[3:]:
        x = np.array([float(r[column]) for r in rows])
        if column in HWNASBENCH_COLUMNS:
            lut = fbnet_costs(ops, column, "latency", "cifar100")
            assert np.allclose(x, lut, rtol=1e-12, atol=1e-12), f"HELP fbnet {column} differs from the LUT sum"
            print(f"  fbnet {column}: equal to the block-LUT sum on all 5,000 archs (not stored twice)")
            continue
        caveats = ["whole milliseconds (1 ms resolution) as released by HELP"] if np.all(x == np.round(x)) else []
        cols.add(x, {
            "device": get_device(column).name, "metric": "latency", "dataset": "cifar100",
            "source_file": help_file, "source_column": column,
            "upstream": {**HELP, "path": f"data/fbnet/latency/{column}.pt"},
            "origin": {"name": "HELP", "repo": HELP["repo"], "license": "MIT"},
            "input": "CIFAR-100 skeleton (per HELP's fbnet metainfo)", "caveats": caveats,
        })
    return cols, ops


def build_lut(data: Path) -> None:
    lut_file = "fbnet/hwnasbench_fbnet_lut.json"
    raw = json.loads((data / lut_file).read_text())
    metrics = [k for k in raw if isinstance(raw[k], dict)]
    keys = list(raw[metrics[0]])
    assert all(list(raw[m]) == keys for m in metrics)
    values = np.array([[float(raw[m][k]) for m in metrics] for k in keys], dtype=np.float64)
    np.savez_compressed(OUT / "fbnet_lut.npz", lut_keys=np.array(keys), lut_metrics=np.array(metrics),
                        lut_values=values)
    units = {m: "ms" if m.endswith("latency") else "mJ" for m in metrics}
    write_json("fbnet_lut", {
        "file": "fbnet_lut.npz",
        "layout": "lut_keys [blocks] block signatures; lut_metrics [metrics] e.g. edgegpu_energy "
                  "(edgegpu = Jetson TX2); lut_values float64 [blocks, metrics]",
        "provenance_label": "HW-NAS-Bench FBNet block LUT (GATECH-EIC/HW-NAS-Bench, MIT), shipped copy",
        "source_file": lut_file, "upstream": SIMISMORE, "origin": HWNASBENCH,
        "units": units, "blocks": len(keys),
        "datasets": {"cifar100": "32x32 input, FC 1504->100", "imagenet": "224x224 input, FC 1984->1000"},
        "composition": "cost = stem + the 22 chosen blocks + head conv + avg pool + FC, summed in "
                       "HW-NAS-Bench's order (hwnas.devices.fbnet)",
        "caveats": ["no Edge TPU numbers for FBNet in HW-NAS-Bench",
                    "raspi4 and pixel3 have latency only"],
    })


def write_json(name: str, meta: dict) -> None:
    meta = {**meta, "built_by": "scripts/build_measured_tables.py"}
    (OUT / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")


def write_table(name: str, cols: Columns, extra: dict[str, np.ndarray], meta: dict) -> None:
    np.savez_compressed(OUT / f"{name}.npz", **cols.arrays(), **extra)
    write_json(name, {**meta, "columns": cols.records})
    size = (OUT / f"{name}.npz").stat().st_size
    print(f"wrote {OUT / name}.npz ({size / 1e6:.2f} MB, {len(cols.records)} columns) + .json")


def check_fbnet_metrics(data: Path, ops: np.ndarray) -> None:
    from hwnas.devices.fbnet import fbnet_costs

    metrics_file = "fbnet/hwnasbench_fbnet_5000_metrics.csv"
    header, rows = read_csv(data / metrics_file)
    ops2 = np.array([[int(v) for v in r["op_idx_list"].split()] for r in rows])
    assert np.array_equal(ops, ops2), "the two FBNet files list different archs"
    worst = 0.0
    for column in header[2:]:
        ds, dev, metric = column.split("_")
        want = np.array([float(r[column]) for r in rows])
        got = fbnet_costs(ops2, dev, metric, ds)
        worst = max(worst, float(np.max(np.abs(got - want) / np.abs(want))))
    assert worst < 1e-12, worst
    print(f"  block LUT reproduces {metrics_file} (16 columns x 5,000 archs, max rel diff {worst:.1e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--data-dir", default=ROOT.parent / "shared" / "data", type=Path)
    args = parser.parse_args()
    from hwnas.devices import _tables

    data = args.data_dir
    build_lut(data)
    _tables.clear_cache()
    cols, ops = build_fbnet(data)
    check_fbnet_metrics(data, ops)
    write_table("fbnet_measured", cols, {"op_ids": ops}, {
        "file": "fbnet_measured.npz",
        "layout": "op_ids uint8 [5000, 22] (0..8 = k3_e1, k3_e1_g2, k3_e3, k3_e6, k5_e1, k5_e1_g2, k5_e3, "
                  "k5_e6, skip); values float32 [5000, columns], NaN = not measured; col_device/col_metric/"
                  "col_dataset name each column; records below in column order",
    })
    cols = build_nb201(data)
    write_table("nb201_measured", cols, {}, {
        "file": "nb201_measured.npz",
        "layout": "values float32 [15625, columns], row = NAS-Bench-201 index, NaN = not measured; "
                  "col_device/col_metric/col_dataset name each column (dataset '' = input not stated by "
                  "the source); (failed_rows[i], failed_cols[i]) = archs the source marks as failed "
                  "(e.g. Edge TPU compile failures); records below in column order",
    })
    _tables.clear_cache()


if __name__ == "__main__":
    main()
