"""Split an ONNX graph into the **kernels** a runtime executes (nn-Meter's kernel detection).

The graph is a `hwnas.predictors.onnx_graph.OnnxGraph` (from any ONNX file, or the cached graph
of a space's architecture), turned into a ``networkx.DiGraph`` whose nodes are the ONNX ops.
Fusion rules are data: ``hwnas/_data/kernel_rules/<name>.json`` (`load_rules`), each an ordered
list of op **chains** such as ``Conv -> BatchNormalization? -> Relu|Clip``. Walking the ops in
topological order, the first rule whose chain matches at an op not yet in a kernel claims the
matched ops; an op joins the chain only where the previous op's output has it as its *only*
consumer (otherwise the intermediate tensor must be written out, and the runtime cannot fuse).
An element ending in ``?`` is optional (``BatchNormalization?`` matches a BN the exporter kept and
one it folded into the Conv alike), ``A|B`` are alternatives, ``@act`` is the rule file's list of
activations; a rule's ``where`` can require ``depthwise`` true/false of its first op. Ops no rule
matches are kernels of their own, of type ``op:<optype>``.

Each kernel gets a configuration (`KERNEL_FEATURES`), computed from the per-op features that
`onnx_graph` already derives from shape inference (nothing is recomputed here): FLOPs and MACs
(summed over the kernel's ops), bytes read from outside the kernel, bytes written by its last op,
weight bytes, input/output channels, input/output H and W (square feature maps assumed: the
graph records H x W), kernel size (square), stride, groups, the number of fused ops, fan-in and
fan-out (kernels it reads from / that read it), the most consumers any tensor it reads has, the operand slot of its output, and the three
liveness flags: ``live`` (its output reaches the graph output and depends on the input; runtimes
drop dead ops, HW-NAS-Bench's raspi4/pixel3 time a disconnected NB201 cell at ~0.01 ms),
``input_dependent`` and ``output_dependent`` (the network's output depends on its input).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.predictors.onnx_graph import OnnxGraph

RULES_FORMAT = "hwnas-kernel-rules"
RULES_PACKAGE = "hwnas._data"
RULES_FOLDER = "kernel_rules"
DEFAULT_RULES = "default"

KERNEL_FEATURES: tuple[str, ...] = (
    "flops", "macs", "in_bytes", "out_bytes", "weight_bytes", "in_channels", "out_channels",
    "in_h", "in_w", "out_h", "out_w", "kernel", "stride", "groups", "n_ops", "fan_in", "fan_out", "in_fan_out",
    "operand_slot", "live", "input_dependent", "output_dependent",
)


# --- rules ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Element:
    ops: frozenset[str]
    optional: bool


@dataclass(frozen=True)
class Rule:
    kernel: str
    chain: tuple[Element, ...]
    where: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class KernelRules:
    """A parsed rule file: ``name``, the ordered fusion ``rules`` and the ``text`` it was read from
    (kept in a saved predictor, so it splits graphs the same way after the data files change)."""

    name: str
    rules: tuple[Rule, ...]
    devices: tuple[str, ...]
    text: str


def parse_rules(text: str, source: str = "rules") -> KernelRules:
    """Rules from the JSON ``text`` of a rule file; ValueError names what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{source}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != RULES_FORMAT:
        raise ValueError(f"{source}: not a {RULES_FORMAT} file")
    acts = [str(a) for a in data.get("activations", [])]
    rules = []
    for i, item in enumerate(data.get("fusions", [])):
        try:
            kernel = str(item["kernel"])
            chain = []
            for spec in item["ops"]:
                spec = str(spec).strip()
                optional = spec.endswith("?")
                names: set[str] = set()
                for alt in spec.rstrip("?").split("|"):
                    alt = alt.strip()
                    if alt == "@act":
                        names.update(acts)
                    elif alt:
                        names.add(alt)
                if not names:
                    raise ValueError(f"element {spec!r} names no op")
                chain.append(Element(frozenset(names), optional))
            if not chain or chain[0].optional:
                raise ValueError("a chain starts with a required op")
            where = item.get("where", {})
            if set(where) - {"depthwise"}:
                raise ValueError(f"unknown condition(s) {sorted(set(where) - {'depthwise'})}")
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: fusion {i}: {exc}") from None
        rules.append(Rule(kernel, tuple(chain), tuple(sorted((k, bool(v)) for k, v in where.items()))))
    return KernelRules(str(data.get("name", source)), tuple(rules),
                       tuple(str(d) for d in data.get("devices", [])), text)


def rule_names() -> list[str]:
    """Names of the shipped rule files."""
    folder = resources.files(RULES_PACKAGE).joinpath(RULES_FOLDER)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=None)
def load_rules(name: str = DEFAULT_RULES) -> KernelRules:
    """The shipped rule file ``name`` (``hwnas/_data/kernel_rules/<name>.json``)."""
    names = rule_names()
    if name not in names:
        raise HwnasUsageError(f"no kernel rule file {name!r}; shipped: {', '.join(names)}")
    text = resources.files(RULES_PACKAGE).joinpath(RULES_FOLDER, f"{name}.json").read_text()
    return parse_rules(text, f"{RULES_FOLDER}/{name}.json")


def rules_for_device(device: str | None) -> KernelRules:
    """The rule file that declares ``device`` (its canonical name) in its ``devices``, else the
    default one."""
    if device:
        from hwnas.devices import get_device

        try:
            dev = get_device(device).name
        except HwnasUsageError:
            dev = str(device)
        for name in rule_names():
            rules = load_rules(name)
            if dev in rules.devices:
                return rules
    return load_rules(DEFAULT_RULES)


# --- splitting ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KernelSplit:
    """The kernels of one graph: ``types`` [k] (str), ``features`` [k, len(KERNEL_FEATURES)]
    float64, ``node_kernel`` [n] (the kernel of every op of the graph)."""

    types: np.ndarray
    features: np.ndarray
    node_kernel: np.ndarray

    @property
    def num_kernels(self) -> int:
        return int(self.types.size)

    def counts(self) -> dict[str, int]:
        names, n = np.unique(self.types, return_counts=True)
        return {str(a): int(b) for a, b in zip(names, n)}

    def feature(self, name: str) -> np.ndarray:
        return self.features[:, KERNEL_FEATURES.index(name)]

    def configs(self) -> list[dict[str, Any]]:
        """Every kernel's configuration as a dict (type plus `KERNEL_FEATURES`)."""
        return [{"type": str(t), **{k: float(v) for k, v in zip(KERNEL_FEATURES, row)}}
                for t, row in zip(self.types, self.features)]


def to_networkx(g: OnnxGraph):
    """``g`` as a ``networkx.DiGraph``: node i has attributes ``op`` and ``index``."""
    import networkx as nx

    dg = nx.DiGraph()
    dg.add_nodes_from((i, {"op": str(op), "index": i}) for i, op in enumerate(g.op_types))
    dg.add_edges_from((int(a), int(b)) for a, b in g.edges.T)
    return dg


def _is_depthwise(groups: float, in_channels: float) -> bool:
    return groups > 1 and groups == in_channels


def split_kernels(g: OnnxGraph, rules: "KernelRules | str | None" = None) -> KernelSplit:
    """The kernels of ``g`` under ``rules`` (a `KernelRules`, a shipped rule name, or the default)."""
    import networkx as nx

    if rules is None or isinstance(rules, str):
        rules = load_rules(rules or DEFAULT_RULES)
    dg = to_networkx(g)
    ops = [str(o) for o in g.op_types]
    groups = g.feature("groups")
    in_ch = g.feature("in_channels")
    owner = np.full(g.num_nodes, -1, dtype=np.int64)
    kernels: list[tuple[str, list[int]]] = []

    def match(rule: Rule, start: int) -> list[int] | None:
        if ops[start] not in rule.chain[0].ops:
            return None
        for key, want in rule.where:
            if key == "depthwise" and _is_depthwise(groups[start], in_ch[start]) != want:
                return None
        members = [start]
        for element in rule.chain[1:]:
            succ = list(dg.successors(members[-1]))
            nxt = succ[0] if len(succ) == 1 else None
            if nxt is not None and owner[nxt] < 0 and ops[nxt] in element.ops:
                members.append(nxt)
            elif not element.optional:
                return None
        return members

    for v in nx.lexicographical_topological_sort(dg):
        if owner[v] >= 0:
            continue
        members = None
        kind = f"op:{ops[v].lower()}"
        for rule in rules.rules:
            members = match(rule, v)
            if members is not None:
                kind = rule.kernel
                break
        members = members or [v]
        owner[members] = len(kernels)
        kernels.append((kind, members))
    return KernelSplit(np.array([k for k, _ in kernels], dtype=str).reshape(-1),
                       _kernel_features(g, dg, owner, kernels), owner)


def _kernel_features(g: OnnxGraph, dg, owner: np.ndarray, kernels) -> np.ndarray:
    f = {name: g.feature(name) for name in ("macs", "flops", "in_bytes", "out_bytes", "weight_bytes", "in_channels",
                                             "out_channels", "in_spatial", "out_spatial", "kernel", "stride", "groups",
                                             "operand_slot", "live", "input_dependent", "output_dependent")}
    out = np.zeros((len(kernels), len(KERNEL_FEATURES)), dtype=np.float64)
    for k, (_, members) in enumerate(kernels):
        first, last = members[0], members[-1]
        inside = set(members)
        # bytes read from outside the kernel: every member's inputs less the tensors that an
        # earlier member of the chain produced for it
        in_bytes = sum(f["in_bytes"][m] for m in members) - sum(f["out_bytes"][m] for m in members[:-1])
        preds = {int(owner[p]) for m in members for p in dg.predecessors(m) if p not in inside}
        succs = {int(owner[s]) for s in dg.successors(last) if s not in inside}
        in_hw = math.sqrt(max(f["in_spatial"][first], 0.0))
        out_hw = math.sqrt(max(f["out_spatial"][last], 0.0))
        row = {
            "flops": sum(f["flops"][m] for m in members),
            "macs": sum(f["macs"][m] for m in members),
            "in_bytes": max(in_bytes, 0.0),
            "out_bytes": f["out_bytes"][last],
            "weight_bytes": sum(f["weight_bytes"][m] for m in members),
            "in_channels": f["in_channels"][first],
            "out_channels": f["out_channels"][last],
            "in_h": in_hw, "in_w": in_hw, "out_h": out_hw, "out_w": out_hw,
            "kernel": round(math.sqrt(max(f["kernel"][first], 0.0)), 6),
            "stride": f["stride"][first],
            "groups": f["groups"][first],
            "n_ops": float(len(members)),
            "fan_in": float(len(preds)),
            "fan_out": float(len(succs)),
            "in_fan_out": float(max((dg.out_degree(p) for m in members for p in dg.predecessors(m) if p not in inside),
                                    default=0)),
            "operand_slot": f["operand_slot"][last],
            "live": max(f["live"][m] for m in members),
            "input_dependent": max(f["input_dependent"][m] for m in members),
            "output_dependent": f["output_dependent"][first],
        }
        out[k] = [row[name] for name in KERNEL_FEATURES]
    # the op features are stored log1p-scaled in float32: undo the rounding of what are counts
    counts = [KERNEL_FEATURES.index(n) for n in KERNEL_FEATURES if n not in ("in_h", "in_w", "out_h", "out_w")]
    out[:, counts] = np.rint(out[:, counts])
    return np.round(out, 3)


def split_many(graphs: Sequence[OnnxGraph], rules: "KernelRules | str | None" = None) -> list[KernelSplit]:
    return [split_kernels(g, rules) for g in graphs]
