"""How well a search's score is known where it is used: its agreement with the benchmark's test
accuracy over the whole space, and the regret a search with it leaves, for the settings where
this was measured (``hwnas/_data/score_quality.json``, built by `scripts/build_score_quality.py`);
for a learned proxy, the cross-validated Kendall tau of its fit. `hwnas pareto` prints it beside
the front (after "score: ") and writes it to run.json (``score_quality``) and the HTML report.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hwnas.search.archive import ScoreSetting

QUALITY_FILE = "score_quality.json"


@lru_cache(maxsize=1)
def shipped_quality() -> dict[str, Any]:
    """The shipped record: {"method", "measured" (date), "command", "entries": [...],
    "sample_entries": [...]}; one entry per (space, dataset, proxies, seed, batch_size) with tau,
    top5_tau, top1_regret, best_of_front_regret (accuracy points) over the whole space and, for the
    default, ``other_seeds``; a sample entry has tau and top5_tau on a fixed sample (its
    ``population``) and ``tau_at_batch_64`` on the same sample."""
    with resources.files("hwnas._data").joinpath(QUALITY_FILE).open("r", encoding="utf-8") as fh:
        return json.load(fh)


def measured_entries(space: str, dataset: str, proxies: "tuple[str, ...] | list[str]",
                     kind: str = "entries") -> list[dict[str, Any]]:
    """The shipped entries (``kind="sample_entries"``: those measured on a sample) for this space,
    dataset and set of proxies, at any seed or batch size."""
    want = sorted(proxies)
    return [e for e in shipped_quality().get(kind, [])
            if e["space"] == space and e["dataset"] == dataset and e["proxies"] == want]


def _figures(e: dict[str, Any]) -> str:
    return (f"Kendall tau {e['tau']:.3f} with {e['dataset']} test accuracy over all 15,625 networks, "
            f"{e['top5_tau']:.3f} among the best 5 %")


def _regret(e: dict[str, Any]) -> str:
    text = (f"searched exhaustively under {e['searches']} device latency budgets it leaves a median "
            f"{e['top1_regret']:.2f} accuracy points between the best network within budget and the best-scored "
            f"front member, {e['best_of_front_regret']:.2f} to the best front member")
    seeds = e.get("other_seeds") or []
    if seeds:
        text += " (the same score with other scoring seeds: " + ", ".join(
            f"seed {s['seed']} {s['top1_regret']:.2f} / {s['best_of_front_regret']:.2f}" for s in seeds) + ")"
    return text


def _learned_quality(name: str) -> dict[str, Any]:
    from hwnas.proxies.learned import load_learned

    record = load_learned(name).record
    cv = record.get("cv_kendall_tau")
    kind = (record.get("estimator") or {}).get("kind") or record["model"]
    what = f"learned proxy {name!r} ({kind} fitted on {record['n_labels']} labelled networks of {record['dataset']})"
    if cv is None or not math.isfinite(float(cv)):
        return {"measured": False, "proxy": name,
                "note": f"{what}: its cross-validated Kendall tau is undefined (constant predictions or labels), so "
                        f"how well it ranks unlabelled networks is not known; label more networks (hwnas proxies suggest)"}
    folds = record.get("cv_folds")
    return {"measured": True, "proxy": name, "cv_kendall_tau": float(cv), "cv_folds": folds,
            "note": f"{what}: Kendall tau {cv:.3f} between your labels and its {folds}-fold cross-validated "
                    f"predictions of them; with randomly drawn labels this ran a little below its tau over the "
                    f"networks left unlabelled (docs/benchmarks.md, Learned proxies)"}


def score_quality(space: str, dataset: str, setting: "ScoreSetting") -> dict[str, Any] | None:
    """run.json's ``score_quality`` for a search of ``space`` / ``dataset`` scored under
    ``setting``: {"measured": bool, "note": one sentence, and the figures where measured}; None
    for a space without accuracy ground truth (run.json's ``accuracy_note`` says so)."""
    if space != "nb201":
        return None
    proxies = tuple(setting.proxies)
    if setting.fitted:  # the setting carries every learned proxy among its proxies (fit_hashes)
        if len(proxies) == 1:
            return _learned_quality(proxies[0])
        return {"measured": False,
                "note": f"{'+'.join(proxies)}: not measured for a mix of learned and zero-cost proxies"}
    entries = measured_entries(space, dataset, proxies)

    def at_setting(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in found if e["seed"] == setting.seed and e["batch_size"] == setting.batch_size]

    exact = at_setting(entries)
    label = "+".join(proxies)
    if exact:
        e = exact[0]
        name = f"{label} (the default)" if e.get("default") else label
        return {"measured": True, **{k: e[k] for k in ("tau", "top5_tau", "top1_regret", "best_of_front_regret",
                                                        "searches")},
                "other_seeds": e.get("other_seeds") or [], "measured_on": shipped_quality()["measured"],
                "note": f"{name}, seed {e['seed']}, batch {e['batch_size']}: {_figures(e)}; {_regret(e)} "
                        f"(docs/benchmarks.md, Search quality)"}
    sampled = at_setting(measured_entries(space, dataset, proxies, "sample_entries"))
    if sampled:
        e = sampled[0]
        whole = sorted((w for w in entries if w["seed"] == e["seed"]), key=lambda w: w["batch_size"] != 64)
        beside = f", over all 15,625 networks at batch {whole[0]['batch_size']}: {whole[0]['tau']:.3f}" if whole else ""
        return {"measured": True, "population": e["population"],
                **{k: e[k] for k in ("tau", "top5_tau", "tau_at_batch_64")},
                "note": f"{label}, seed {e['seed']}, batch {e['batch_size']}: Kendall tau {e['tau']:.3f} with {dataset} "
                        f"test accuracy on {e['population']}, {e['top5_tau']:.3f} among its best 5 % (at batch 64 on "
                        f"the same sample: {e['tau_at_batch_64']:.3f}{beside}); the search regret was not measured at "
                        f"this batch (docs/benchmarks.md, Smaller probe batches)"}
    measure = f"hwnas eval proxies --dataset {dataset} --proxies {label} --batch-size {setting.batch_size} --seed {setting.seed}"
    if entries:
        e = entries[0]
        return {"measured": False,
                "note": f"{label}: not measured at seed {setting.seed}, batch {setting.batch_size}; at seed "
                        f"{e['seed']}, batch {e['batch_size']}: {_figures(e)}; `{measure}` measures this setting "
                        f"on a sample"}
    return {"measured": False,
            "note": f"{label}: its agreement with accuracy is not measured for this setting; `{measure}` "
                    f"measures it on a sample"}
