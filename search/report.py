"""The artefacts of a search: pareto.csv / pareto.json, all_evaluated.csv, pareto.png, run.json
and the chosen ONNX exports. Every file is written atomically (temporary file + rename)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from hwnas.storage import atomic_write


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, Path):
        return str(x)
    return x


def write_json(path: Path, obj: Any) -> Path:
    text = json.dumps(_jsonable(obj), indent=2) + "\n"
    return atomic_write(path, lambda fh: fh.write(text.encode()))


def build_frames(state, front_pos: np.ndarray, dataset: str):
    """(front, evaluated) DataFrames. Columns: arch_index, arch, score, the proxy's score
    columns, per cost metric ``<metric>_<unit>``, ``<metric>_<unit>_bound`` (what budgets are checked
    against: the upper 97.5 % bound of a prediction that states its uncertainty, else the value)
    and ``<metric>_source``, feasible, on_front."""
    import pandas as pd

    sp = state.space
    catalog = state.scorer.catalog
    scores = state.scores()
    C = state.cost_matrix(state.order)
    B = state.budget_matrix(state.order)  # what the budgets were checked against
    feasible = state.feasible(state.order) if state.n else np.zeros(0, dtype=bool)
    on_front = np.zeros(state.n, dtype=bool)
    on_front[front_pos] = True
    ids = state.member(state.order)
    rows = {
        "eval_order": np.arange(1, state.n + 1),
        # the space's published index (NB201); empty for spaces without one (FBNet, MobileNetV2)
        "arch_index": pd.array([catalog.published_index(int(i)) for i in ids], dtype="Int64"),
        "arch": [sp.to_str(catalog.arch(int(i))) for i in ids],
    }
    if catalog.indexed:
        rows["class_rep"] = np.array(state.order, dtype=np.int64)
    rows["score"] = scores
    for c, v in state.columns.items():
        rows[c] = np.asarray(v, dtype=np.float64)
    members = state.member(state.order)
    for j, t in enumerate(state.costs):
        rows[f"{t.metric}_{t.unit}"] = C[:, j]
        rows[f"{t.metric}_{t.unit}_bound"] = B[:, j]
        rows[f"{t.metric}_source"] = [t.label(int(i)) for i in members]
    for t in state.reference_costs:  # shown, not optimised (e.g. the latency an energy estimate rests on)
        rows[f"{t.metric}_{t.unit}"] = t.values[members] if state.n else np.zeros(0)
        rows[f"{t.metric}_source"] = [t.label(int(i)) for i in members]
    rows["feasible"] = feasible
    rows["excluded"] = list(state.excluded)
    rows["on_front"] = on_front
    rows["score_origin"] = state.origins
    rows["score_ms"] = np.asarray(state.ms, dtype=np.float64)
    evaluated = pd.DataFrame(rows)
    front = evaluated.iloc[front_pos].drop(columns=["on_front", "feasible", "excluded", "score_ms", "eval_order"]
                                           ).reset_index(drop=True)
    front.insert(0, "rank", np.arange(1, len(front) + 1))
    return front, evaluated


def write_outputs(out: Path, config, state, front_pos, front, evaluated, run: dict, timings: dict,
                  dataset: str) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    paths["pareto_csv"] = atomic_write(out / "pareto.csv", lambda fh: fh.write(front.to_csv(index=False).encode()))
    paths["all_evaluated_csv"] = atomic_write(out / "all_evaluated.csv",
                                              lambda fh: fh.write(evaluated.to_csv(index=False).encode()))
    front_ids = [int(i) for i in state.member(np.asarray(state.order, dtype=np.int64)[front_pos])] if state.n else []
    paths["pareto_json"] = write_json(out / "pareto.json", _front_json(state, front, front_ids, run))
    paths["pareto_png"] = atomic_write(out / "pareto.png", lambda fh: plot_front(state, front_pos, run, fh))
    exports = []
    if config.export_onnx and len(front):
        from hwnas.api import export

        (out / "onnx").mkdir(parents=True, exist_ok=True)
        for (_, row), i in zip(front.head(int(config.export_onnx)).iterrows(), front_ids):
            arch = state.scorer.catalog.arch(i)
            name = export_name(state.space, arch)
            path = out / "onnx" / f"{name}_{dataset}.onnx"
            exp = export(arch, path, space=state.space.name, dataset=dataset, seed=int(config.seed))
            exports.append({"rank": int(row["rank"]), "arch_index": state.scorer.catalog.published_index(i),
                            "arch": str(row["arch"]), "path": str(path), "max_abs_diff": exp.report.max_abs_diff})
            paths[f"onnx_{name}"] = path
    run["onnx_exports"] = exports
    removed = remove_stale_exports(out / "onnx", [Path(e["path"]) for e in exports])
    if removed:
        run["onnx_removed"] = [p.name for p in removed]
    if config.export_onnx and len(front) < config.export_onnx:
        run["onnx_note"] = f"asked for {config.export_onnx}, the front has {len(front)}"
    paths["run"] = out / "run.json"
    return paths


def export_name(space, arch) -> str:
    """File stem of an exported network: ``nb201_<index>``, else ``<space>_<10 hex digits of the
    SHA-1 of its architecture string>`` (stable across runs, short enough for any file system)."""
    import hashlib

    index = space.index(arch)
    if index is not None:
        return f"{space.name}_{index}"
    return f"{space.name}_{hashlib.sha1(space.to_str(arch).encode()).hexdigest()[:10]}"


def remove_stale_exports(folder: Path, keep: list[Path]) -> list[Path]:
    """Delete the ``*.onnx`` files in ``folder`` (the run's onnx/) that this run did not export:
    exports of an earlier run in the same folder never survive beside the current ones. Only
    ``*.onnx`` files directly in ``folder`` are touched."""
    if not folder.is_dir():
        return []
    kept = {p.resolve() for p in keep}
    removed = []
    for f in sorted(folder.glob("*.onnx")):
        if f.is_file() and f.resolve() not in kept:
            f.unlink()
            removed.append(f)
    return removed


def score_reference(state) -> dict:
    """What a multi-column score is ranked against (run.json's ``score_reference``)."""
    ref = state.scorer.reference
    if len(state.columns) <= 1:
        return {"population": "none", "note": "single-column proxy: the score is the proxy's own value"}
    if ref is not None:
        m = next(iter(ref.values())).size
        if state.scorer.reference_kind == "fixed reference sample":
            return {"population": "fixed reference sample", "size": int(m), **state.scorer.reference_stats,
                    "note": f"ranked against a fixed sample of {m:,} architectures of the space (drawn with seed "
                            f"{state.scorer.reference_stats['seed']}, whatever the run's seed) scored under this "
                            f"setting: a fixed scale, the same architecture gets the same score in every run with "
                            f"this setting; ranks between sample members are interpolated"}
        return {"population": "shipped score table", "size": int(m),
                "note": f"ranked against all {m:,} classes of the shipped score table for this dataset and proxy "
                        f"setting: a fixed scale, the same architecture gets the same score in every run"}
    return {"population": "evaluated set", "size": int(state.n),
            "note": f"ranked against the {state.n} architectures this run evaluated (no shipped table for this "
                    f"dataset / proxy setting and no reference sample): relative to that set, not comparable "
                    f"across runs"}


def score_description(state) -> str:
    """What the ``score`` column means, and how far it can be compared."""
    cols = list(state.columns)
    if len(cols) == 1:
        return (f"the proxy's own value ({cols[0]}, larger = predicted better); absolute: comparable across runs "
                f"with the same proxy setting")
    ref = state.scorer.reference
    if ref is not None:
        m = next(iter(ref.values())).size
        against = (f"a fixed sample of {m:,} architectures of the space scored under this setting"
                   if state.scorer.reference_kind == "fixed reference sample" else
                   f"all {m:,} classes of the shipped score table for this dataset and proxy setting")
        return (f"AZ-NAS non-linear rank aggregate (Eq. 12) of {', '.join(cols)}: sum of log(rank / {m}) with each "
                f"component ranked against {against} (larger = better, 0 = best in all). A fixed scale: an "
                f"architecture's score does not depend on the seed or on what else the run evaluated, so it compares "
                f"across runs with the same dataset and proxy setting; the components are the columns "
                f"{', '.join(cols)} of all_evaluated.csv and 'scores' here")
    return (f"AZ-NAS non-linear rank aggregate (Eq. 12) of {', '.join(cols)} over the {state.n} architectures this "
            f"run evaluated (larger = better); no shipped score table holds this dataset / proxy setting and the "
            f"reference sample is off, so there is no fixed reference population. It is relative to that set: the "
            f"same architecture scores differently in a run that evaluated others, so do not compare it across runs; "
            f"the absolute components are the columns {', '.join(cols)} of all_evaluated.csv and 'scores' here")


def _front_json(state, front, front_ids: list[int], run: dict) -> dict:
    costs = []
    for (_, row), idx in zip(front.iterrows(), front_ids):
        entry = {
            "rank": int(row["rank"]), "arch_index": state.scorer.catalog.published_index(idx), "arch": row["arch"],
            "score": float(row["score"]),
            "scores": {c: float(row[c]) for c in state.columns},
            "costs": {},
        }
        for t in state.costs:
            c = t.cost(idx)
            entry["costs"][t.metric] = {"value": c.value, "unit": c.unit, "source": t.label(idx),
                                        "budget_bound": float(t.budget_values()[idx]),
                                        "extrapolated": t.is_extrapolated(idx), "provenance": c.provenance,
                                        "objective": True}
        for t in state.reference_costs:
            c = t.cost(idx)
            entry["costs"][t.metric] = {"value": c.value, "unit": c.unit, "source": t.label(idx),
                                        "extrapolated": t.is_extrapolated(idx), "provenance": c.provenance,
                                        "objective": False,
                                        "note": "not an objective: shown because the energy rests on it"}
        costs.append(entry)
    columns = {"score": score_description(state)}
    for t in state.costs:
        columns[f"{t.metric}_{t.unit}"] = f"{t.metric} on {t.device} in {t.unit} (objective, minimised)"
        columns[f"{t.metric}_{t.unit}_bound"] = (f"what a {t.metric} budget is checked against, in {t.unit}: the upper "
                                                 "97.5 % bound where a prediction states its uncertainty, else the value")
    for t in state.reference_costs:
        columns[f"{t.metric}_{t.unit}"] = (f"{t.metric} on {t.device} in {t.unit}: not an objective, shown because "
                                           f"the energy values rest on it (an energy estimate is derived from it)")
    for t in [*state.costs, *state.reference_costs]:
        columns[f"{t.metric}_source"] = ("measured, predicted or estimated; ', extrapolated' where a predicted or "
                                         "estimated value lies outside the measured range or op-count envelope")
    return {k: run[k] for k in ("device", "space", "dataset", "proxy", "proxy_setting", "budgets", "objectives",
                                "cost_sources", "seed", "algorithm")} | {"accuracy_note": run.get("accuracy_note"),
                                                                  "score_quality": run.get("score_quality"),
                                                                  "score_reference": run.get("score_reference"),
                                                                  "columns": columns, "front": costs}


def score_axis_label(state, run: dict) -> str:
    """The y-axis label: what the score is, and that higher is better."""
    cols = list(state.columns)
    proxy = "+".join(run["proxy"])
    if len(cols) == 1:
        return f"proxy score: {proxy} (higher = better)"
    name = "AZ-NAS score" if list(run["proxy"]) == ["az_nas"] else f"{proxy} score"
    ref = state.scorer.reference
    if ref is not None:
        m = next(iter(ref.values())).size
        return (f"{name} (higher = better)\nsum of log(rank / {m}) of its {len(cols)} components "
                f"among all {m:,} classes; 0 = best in all")
    return (f"{name} (higher = better)\nsum of log(rank / {state.n}) of its {len(cols)} components "
            f"among the {state.n} evaluated; 0 = best in all")


def place_labels(points: np.ndarray, sizes: "list[tuple[float, float]]", bounds: tuple[float, float, float, float],
                 obstacles: "np.ndarray | None" = None, marker_px: float = 5.0) -> np.ndarray:
    """Label offsets (display pixels, label centre minus point) that keep labels apart.

    Greedy, adjustText-like: each point in turn takes the first candidate position (rings of
    8 directions at growing distance) whose box overlaps no label placed so far, no marker
    (``points`` and ``obstacles``, radius ``marker_px``) and stays inside ``bounds`` (x0, y0,
    x1, y1); if none is free, the candidate with the least overlap. ``points`` [n, 2] and
    ``sizes`` (width, height) are in display pixels."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    obst = pts if obstacles is None else np.vstack([pts, np.asarray(obstacles, dtype=float).reshape(-1, 2)])
    directions = [(1, 1), (-1, 1), (1, -1), (-1, -1), (0, 1), (0, -1), (1, 0), (-1, 0)]
    placed: list[tuple[float, float, float, float]] = []
    offsets = np.zeros_like(pts)
    x0b, y0b, x1b, y1b = bounds

    def overlap(a, b) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    for i, (px, py) in enumerate(pts):
        w, h = sizes[i]
        best, best_cost = None, np.inf
        for radius in (9.0, 16.0, 26.0, 38.0, 52.0, 70.0):
            for dx, dy in directions:
                norm = np.hypot(dx, dy)
                cx = px + dx / norm * (radius + w / 2 * abs(dx) / norm)
                cy = py + dy / norm * (radius + h / 2 * abs(dy) / norm)
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                cost = sum(overlap(box, q) for q in placed)
                near = obst[(np.abs(obst[:, 0] - cx) < w / 2 + marker_px) & (np.abs(obst[:, 1] - cy) < h / 2 + marker_px)]
                cost += 40.0 * len(near)
                if box[0] < x0b or box[2] > x1b or box[1] < y0b or box[3] > y1b:
                    cost += 1e4
                cost += radius * 0.01  # prefer near
                if cost < best_cost:
                    best, best_cost = box, cost
            if best_cost < 1.0:
                break
        placed.append(best)
        offsets[i] = ((best[0] + best[2]) / 2 - px, (best[1] + best[3]) / 2 - py)
    return offsets


def plot_front(state, front_pos: np.ndarray, run: dict, path: "str | BinaryIO") -> None:
    """Proxy score against the first cost metric: every evaluated architecture (feasible /
    infeasible), the front as a step line, the budget as a dashed line, and every front member
    numbered by its rank (the ``rank`` column of pareto.csv, ``#`` of the console table and
    report.html), the numbers placed apart from each other with leader lines."""
    # a Figure on the Agg canvas, not pyplot: no global figure state, no GUI backend, and pyplot's
    # import (about 0.4 s) stays off the command's path
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = state.costs[0]
    x = state.cost_matrix(state.order)[:, 0]
    y = state.scores()
    feas = state.feasible(state.order)
    fig = Figure(figsize=(9, 6), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    finite = np.isfinite(x) & np.isfinite(y)
    over, within = finite & ~feas, finite & feas
    ax.scatter(x[over], y[over], s=10, c="#d4d4d4", label="over budget" if over.any() else None, zorder=1)
    ax.scatter(x[within], y[within], s=12, c="#9dbbdc", label="within budget" if state.budgets else "evaluated",
               zorder=2)
    for b in state.budgets:
        if b.metric == t.metric:
            ax.axvline(b.limit, ls="--", c="k", lw=1, label=f"budget {b.limit:g} {b.unit}")
    kinds = sorted(k for k, n in t.counts().items() if n)
    where = f" on {t.device}" if t.device != "-" else ""
    ax.set_xlabel(f"{t.metric}{where} [{t.unit}] ({'/'.join(kinds)}; lower = better)")
    ax.set_ylabel(score_axis_label(state, run), fontsize=9)
    others = [f"{c.metric} [{c.unit}]" for c in state.costs[1:]]
    ax.set_title(f"{run['space']} / {run['dataset']}{where}: {state.n} evaluated, front of {front_pos.size}; "
                 f"numbers = rank (#) in the front table"
                 + (f"\n(front is also non-dominated in {', '.join(others)})" if others else ""), fontsize=10)
    ax.grid(alpha=0.3)
    fpos = np.asarray(front_pos, dtype=np.int64)
    ok = np.isfinite(x[fpos]) & np.isfinite(y[fpos]) if fpos.size else np.zeros(0, dtype=bool)
    if ok.any():
        fx, fy = x[fpos], y[fpos]
        order = np.argsort(fx[ok])
        ax.step(fx[ok][order], fy[ok][order], where="post", c="#d62728", lw=1.2, zorder=3)
        ax.scatter(fx[ok], fy[ok], s=30, c="#d62728", edgecolors="k", linewidths=0.5, label="Pareto front", zorder=4)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    if ok.any():
        ax.set_xlim(ax.get_xlim())
        ax.set_ylim(ax.get_ylim())
        ranks = np.flatnonzero(ok) + 1  # rank k is front_pos[k - 1]
        disp = ax.transData.transform(np.column_stack([fx[ok], fy[ok]]))
        fontsize = 7 if ok.sum() <= 40 else 6
        char_px = fontsize * fig.dpi / 72 * 0.62
        sizes = [(char_px * len(str(r)) + 6, fontsize * fig.dpi / 72 + 5) for r in ranks]
        bbox = ax.get_window_extent()
        others_disp = ax.transData.transform(np.column_stack([x[finite], y[finite]]))
        dense = others_disp[(others_disp[:, 0] >= bbox.x0) & (others_disp[:, 0] <= bbox.x1)]
        offsets = place_labels(disp, sizes, (bbox.x0, bbox.y0, bbox.x1, bbox.y1),
                               obstacles=dense[:: max(1, len(dense) // 400)], marker_px=3.0)
        to_points = 72.0 / fig.dpi
        for r, (px, py), (ox, oy) in zip(ranks, disp, offsets):
            xy = ax.transData.inverted().transform((px, py))
            ax.annotate(str(r), xy, xytext=(ox * to_points, oy * to_points), textcoords="offset points",
                        ha="center", va="center", fontsize=fontsize, zorder=6,
                        bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="#d62728", lw=0.6, alpha=0.9),
                        arrowprops=dict(arrowstyle="-", color="#555555", lw=0.5, shrinkA=0, shrinkB=2))
    fig.savefig(path, format="png")
