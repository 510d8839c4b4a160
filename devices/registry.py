"""The device registry: one record per hardware target that hwnas can price networks for.

A `Device` says what a target is (kind, batch size), which cost metrics exist for it and in
which units, where the numbers come from, and how much of each search space they cover. The
records are table-driven below; the aliases include the column names the upstream data sets use
(`edgegpu`, `rice_edgetpu`, `1080ti_32`, `true_a76`, ...), so any of those names finds its device.

Coverage counts are those of the shipped tables (`hwnas/_data/*_measured.npz`, built by
`scripts/build_measured_tables.py`); `tests/test_devices.py` checks that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwnas.errors import HwnasUsageError
from hwnas.registry import Registry

KINDS: tuple[str, ...] = ("GPU", "CPU", "phone", "accelerator", "FPGA", "simulator")
METRIC_UNITS: dict[str, str] = {"latency": "ms", "energy": "mJ"}
METRIC_ALIASES: dict[str, str] = {"latency_ms": "latency", "lat": "latency", "time": "latency",
                                  "energy_mj": "energy"}


@dataclass(frozen=True)
class Coverage:
    """How much of one search space one metric of a device covers.

    ``archs`` is the number of architectures with a measurement, ``None`` where a per-block
    look-up table prices any architecture of the space, 0 where nothing is measured."""

    space: str
    metric: str
    archs: int | None
    detail: str = ""

    def __str__(self) -> str:
        amount = "block LUT (any arch)" if self.archs is None else f"{self.archs:,}" if self.archs else "none"
        return f"{self.space} {self.metric}: {amount}"


@dataclass(frozen=True)
class Device:
    """One target device (one measurement configuration: a GPU at batch 32 is its own device)."""

    name: str
    aliases: tuple[str, ...]
    kind: str
    description: str
    metrics: tuple[tuple[str, str], ...]  # (metric, unit) pairs, e.g. (("latency", "ms"),)
    batch_size: int | None  # None: not stated by the source
    source: str  # data set / paper the numbers come from
    coverage: tuple[Coverage, ...] = ()
    notes: str = ""  # caveats a user should read before trusting the numbers
    class_level: bool = False  # measured once per NB201 isomorphism class (members carry that value)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m for m, _ in self.metrics)

    def unit(self, metric: str) -> str:
        for m, u in self.metrics:
            if m == metric:
                return u
        raise HwnasUsageError(self._no_metric(metric))

    def _no_metric(self, metric: str) -> str:
        have = ", ".join(f"{m} ({u})" for m, u in self.metrics) or "none"
        return f"device {self.name!r} has no {metric} data; it has: {have}"

    def require_metric(self, metric: str) -> str:
        """The canonical metric name; a one-line usage error if this device lacks it."""
        key = canonical_metric(metric)
        if key not in self.metric_names:
            raise HwnasUsageError(self._no_metric(key))
        return key

    def coverage_of(self, space: str, metric: str | None = None) -> tuple[Coverage, ...]:
        return tuple(c for c in self.coverage if c.space == space and (metric is None or c.metric == metric))

    def coverage_text(self) -> str:
        """Compact coverage for tables, e.g. ``nb201: 15,625 (latency); fbnet: LUT (latency, energy)``."""
        if not self.coverage:
            return "none"
        parts: list[str] = []
        spaces: list[str] = []
        for c in self.coverage:
            if c.space not in spaces:
                spaces.append(c.space)
        for space in spaces:
            groups: dict[str, list[str]] = {}
            for c in self.coverage_of(space):
                amount = "LUT" if c.archs is None else f"{c.archs:,}" if c.archs else "none"
                groups.setdefault(amount, []).append(c.metric)
            parts.append(f"{space}: " + ", ".join(f"{a} ({'+'.join(ms)})" for a, ms in groups.items()))
        return "; ".join(parts)


def canonical_metric(metric: str) -> str:
    key = metric.strip().lower()
    key = METRIC_ALIASES.get(key, key)
    if key not in METRIC_UNITS:
        raise HwnasUsageError(
            f"unknown metric {metric!r}; use one of: {', '.join(METRIC_UNITS)}"
        )
    return key


DEVICES: Registry[Device] = Registry("device", list_command="hwnas devices")
_ORDER: list[str] = []  # registration order: HW-NAS-Bench's six first, then by source


def _register(device: Device) -> Device:
    if device.kind not in KINDS:
        raise ValueError(f"device {device.name}: kind {device.kind!r} is not one of {KINDS}")
    for metric, unit in device.metrics:
        if METRIC_UNITS.get(metric) != unit:
            raise ValueError(f"device {device.name}: metric {metric} must be in {METRIC_UNITS.get(metric)}")
    DEVICES.register(device.name, aliases=device.aliases)(device)
    _ORDER.append(device.name)
    return device


def get_device(name: "str | Device") -> Device:
    """The device called ``name`` (or one of its aliases); unknown names get close matches."""
    if isinstance(name, Device):
        return name
    try:
        dev = DEVICES.get(name)
        if dev.name == "local":  # this machine, once profiled and adapted (`hwnas pareto --device local`)
            from hwnas.devices.user import user_devices

            return user_devices().get("local", dev)
        return dev
    except HwnasUsageError:
        from hwnas.devices.user import user_devices

        found = user_devices().get(str(name).strip().lower())
        if found is None:
            raise
        return found


def all_devices() -> list[Device]:
    """Every device, HW-NAS-Bench's six first, then HELP, Eagle, nn-Meter, HW-NAS-Bench-360, `local`
    and the user's own devices (`hwnas predictors adapt`)."""
    from hwnas.devices.user import user_devices

    builtin = [DEVICES.get(n) for n in _ORDER]
    if "local" in user_devices():
        builtin = [user_devices()["local"] if d.name == "local" else d for d in builtin]
    return builtin + [d for n, d in user_devices().items() if n != "local"]


# ---------------------------------------------------------------------------------------------
# The records. Sources (see /shared/data/provenance and hwnas/_data/*_measured.json):
#   HW-NAS-Bench (Li et al., ICLR 2021; GATECH-EIC/HW-NAS-Bench, MIT)
#   HELP (Lee et al., NeurIPS 2021; HayeonLee/HELP, MIT)
#   BRP-NAS / Eagle (Dudziak et al., NeurIPS 2020; SamsungLabs/eagle, Apache-2.0)
#   nn-Meter (Zhang et al., MobiSys 2021; microsoft/nn-Meter, MIT), via OneProxy (Ren-Research, MIT)
# ---------------------------------------------------------------------------------------------
LAT = (("latency", "ms"),)
LAT_EN = (("latency", "ms"), ("energy", "mJ"))
N_NB201 = 15_625
N_ONEPROXY = 1_999
N_FBNET_HELP = 5_000

HWNASBENCH = "HW-NAS-Bench (ICLR 2021)"
HELP = "HELP (NeurIPS 2021)"
EAGLE = "BRP-NAS / Eagle (NeurIPS 2020)"
NNMETER = "nn-Meter (MobiSys 2021)"
ONEPROXY_NOTE = "NB201 numbers: the 1,999-arch subset released by nn-Meter, as collected by OneProxy"

_FBNET_LUT = "HW-NAS-Bench FBNet block LUT: CIFAR-100 (32x32) and ImageNet (224x224) skeletons"


def _lut(*metrics: str) -> tuple[Coverage, ...]:
    return tuple(Coverage("fbnet", m, None, _FBNET_LUT) for m in metrics)


# --- HW-NAS-Bench's six --------------------------------------------------------------------------
_register(Device(
    "jetson-tx2", ("edgegpu", "rice_edgegpu", "tx2", "nvidia-jetson-tx2"), "GPU",
    "NVIDIA Jetson TX2 (HW-NAS-Bench's EdgeGPU)", LAT_EN, 1, HWNASBENCH,
    (Coverage("nb201", "latency", N_ONEPROXY, "CIFAR-10 input; " + ONEPROXY_NOTE),
     Coverage("nb201", "energy", 0, "no NB201 energy in the data; register HW-NAS-Bench's pickle"),
     *_lut("latency", "energy")),
    "NB201 latency only for 1,999 archs and no NB201 energy unless HW-NAS-Bench's own pickle is "
    "registered (`hwnas data add-hwnasbench`)",
))
_register(Device(
    "raspi4", ("raspberry-pi-4", "rpi4", "rice_raspi4"), "CPU",
    "Raspberry Pi 4 (HW-NAS-Bench)", LAT, 1, HWNASBENCH,
    (Coverage("nb201", "latency", N_NB201, "CIFAR-10 input; HW-NAS-Bench's values as shipped by HELP"),
     *_lut("latency")),
    "degenerate NB201 cells (no path from input to output) have near-zero latency (min 0.011 ms)",
))
_register(Device(
    "pixel3", ("google-pixel-3", "rice_pixel3"), "phone",
    "Google Pixel 3 (HW-NAS-Bench)", LAT, 1, HWNASBENCH,
    (Coverage("nb201", "latency", N_NB201, "CIFAR-10 input; HW-NAS-Bench's values as shipped by HELP"),
     *_lut("latency")),
    "degenerate NB201 cells (no path from input to output) have near-zero latency (min 0.0033 ms)",
))
_register(Device(
    "edgetpu", ("coral", "rice_edgetpu", "google-edgetpu"), "accelerator",
    "Google Coral Edge TPU (HW-NAS-Bench)", LAT, 1, HWNASBENCH,
    (Coverage("nb201", "latency", 1_740, "CIFAR-10 input; 1,740 of OneProxy's 1,999 "
              "(259 failed to compile)"),),
    "259 of the 1,999 archs failed to compile for the Edge TPU (-1 upstream): not deployable, "
    "never a cost; HW-NAS-Bench has no Edge TPU numbers for FBNet",
))
_register(Device(
    "eyeriss", ("rice_eyeriss",), "simulator",
    "Eyeriss ASIC accelerator; HW-NAS-Bench's numbers are simulator estimates", LAT_EN, 1, HWNASBENCH,
    (Coverage("nb201", "latency", N_NB201, "CIFAR-10 input; HW-NAS-Bench's values as shipped by HELP"),
     Coverage("nb201", "energy", 0, "no NB201 energy in the data; register HW-NAS-Bench's pickle"),
     *_lut("latency", "energy")),
    "estimated, not measured on a chip",
))
_register(Device(
    "fpga", ("rice_fpga",), "FPGA",
    "FPGA (HW-NAS-Bench)", LAT_EN, 1, HWNASBENCH,
    (Coverage("nb201", "latency", N_NB201, "CIFAR-10 input; HW-NAS-Bench's values as shipped by HELP"),
     Coverage("nb201", "energy", 0, "no NB201 energy in the data; register HW-NAS-Bench's pickle"),
     *_lut("latency", "energy")),
    "",
))

# --- TF-NAS (Hu et al., ECCV 2020; AberHu/TF-NAS, MIT): per-block latency LUTs of its MobileNetV2 space
TFNAS = "TF-NAS (ECCV 2020)"
_TFNAS_GPU = Coverage("mbv2", "latency", None, "TF-NAS per-block latency LUT, batch 32, PyTorch 1.1 + cuDNN 7.6, "
                      "ImageNet 224x224")
_register(Device(
    "xeon-gold-6130-b1", ("xeon6130", "xeon-gold-6130", "tfnas-cpu"), "CPU",
    "Intel Xeon Gold 6130 @ 2.10 GHz, one MKL thread, PyTorch 1.1", LAT, 1, TFNAS,
    (Coverage("mbv2", "latency", None, "TF-NAS per-block latency LUT, batch 1, ImageNet 224x224"),),
    "MobileNetV2 (TF-NAS) space only; the LUT's blocks were timed alone, so a network's latency is their sum",
))

# --- HELP: GPUs at several batch sizes (NB201: 1/32/256, FBNet and OFA: 1/32/64) -----------------
_OFA_DETAIL = "Once-for-All subnets: in the data directory only (no OFA search space yet), not shipped"
_HELP_FBNET = Coverage("fbnet", "latency", N_FBNET_HELP, "HELP's 5,000 sampled FBNet archs, CIFAR-100 input")
_HELP_NB201 = Coverage("nb201", "latency", N_NB201, "input not stated by the source")
for _stem, _col, _ofa_col, _desc in (
    # (our name stem, HELP column stem, OFA column stem or None, description)
    ("gtx-1080ti", "1080ti", None, "NVIDIA GeForce GTX 1080 Ti"),
    ("rtx-2080ti", "2080ti", "2080ti", "NVIDIA GeForce RTX 2080 Ti"),
    ("titan-rtx", "titan_rtx", "titan_rtx", "NVIDIA Titan RTX"),
    ("titan-x", "titanx", None, "NVIDIA Titan X"),
    ("titan-xp", "titanxp", "titan_xp", "NVIDIA Titan Xp"),
):
    for _batch in (1, 32, 64, 256):
        _cov = [_HELP_NB201] if _batch in (1, 32, 256) else []
        if _batch in (1, 32, 64):
            _cov.append(_HELP_FBNET)
            if _ofa_col:
                _cov.append(Coverage("ofa", "latency", N_FBNET_HELP, _OFA_DETAIL))
        if _stem == "titan-rtx" and _batch == 32:
            _cov.append(_TFNAS_GPU)
        _aliases = [f"{_col}_{_batch}"] + ([f"{_ofa_col}_{_batch}"] if _ofa_col and _batch != 256 else [])
        _register(Device(f"{_stem}-b{_batch}", tuple(dict.fromkeys(_aliases)), "GPU", f"{_desc}, batch {_batch}",
                         LAT, _batch, HELP + (" + TF-NAS (ECCV 2020) for mbv2" if _TFNAS_GPU in _cov else ""),
                         tuple(_cov)))
for _batch in (1, 32, 64):
    _register(Device(f"v100-b{_batch}", (f"v100_{_batch}",), "GPU", f"NVIDIA Tesla V100, batch {_batch}", LAT,
                     _batch, HELP, (Coverage("ofa", "latency", N_FBNET_HELP, _OFA_DETAIL),),
                     "no NB201 or FBNet data"))

# --- HELP: CPUs and phones (batch size not stated in the data) ----------------------------------
for _name, _aliases, _kind, _desc, _note in (
    ("xeon-gold-6226", ("gold_6226",), "CPU", "Intel Xeon Gold 6226 CPU", ""),
    ("xeon-gold-6240", ("gold_6240",), "CPU", "Intel Xeon Gold 6240 CPU", ""),
    ("xeon-silver-4114", ("silver_4114",), "CPU", "Intel Xeon Silver 4114 CPU", ""),
    ("xeon-silver-4210r", ("silver_4210r",), "CPU", "Intel Xeon Silver 4210R CPU", ""),
    ("essential-ph-1", ("essential_ph_1",), "phone", "Essential Phone PH-1", "whole milliseconds as released by HELP"),
    ("pixel2", ("google-pixel-2",), "phone", "Google Pixel 2", "whole milliseconds as released by HELP"),
    ("samsung-a50", ("samsung_a50",), "phone", "Samsung Galaxy A50", "whole milliseconds as released by HELP"),
    ("samsung-s7", ("samsung_s7",), "phone", "Samsung Galaxy S7", "whole milliseconds as released by HELP"),
):
    _register(Device(_name, _aliases, _kind, _desc, LAT, None, HELP, (_HELP_NB201, _HELP_FBNET), _note))

# --- BRP-NAS / Eagle ----------------------------------------------------------------------------
_register(Device(
    "i7-7820x", ("eagle_i7", "core-i7-7820x"), "CPU", "Intel Core i7-7820X desktop CPU, fp32 (Eagle)", LAT, None,
    EAGLE, (Coverage("nb201", "latency", 15_284, "all archs Eagle released (341 missing upstream)"),),
    "341 of the 15,625 archs are missing upstream; stored in seconds upstream, converted to ms",
))
_SUBSET = (Coverage("nb201", "latency", N_ONEPROXY, ONEPROXY_NOTE),)
for _name, _aliases, _kind, _desc, _note in (
    ("eagle-gtx-1080ti", ("eagle_gtx",), "GPU", "NVIDIA GTX 1080 Ti (Eagle)",
     "nearly identical to eagle_i7 (means 6.16 vs 6.14 ms on the subset): possibly mislabelled upstream"),
    ("jetson-nano", ("eagle_jetson", "jetson-nano-fp32"), "GPU", "NVIDIA Jetson Nano, fp32 (Eagle)", ""),
    ("jetson-nano-fp16", ("eagle_jetson_16",), "GPU", "NVIDIA Jetson Nano, fp16 (Eagle)", ""),
    ("snapdragon855-cpu", ("eagle_cpu_855",), "phone", "Qualcomm Snapdragon 855 CPU (Eagle)", ""),
    ("snapdragon855-gpu", ("eagle_gpu_855",), "phone", "Qualcomm Snapdragon 855 GPU (Eagle)", ""),
    ("snapdragon855-dsp", ("eagle_dsp_855",), "phone", "Qualcomm Snapdragon 855 DSP (Eagle)", ""),
    ("eagle-edgetpu", ("eagle_tpu",), "accelerator", "Google Edge TPU, int8 (Eagle)",
     "a different setup from HW-NAS-Bench's edgetpu; do not mix the two"),
):
    _register(Device(_name, _aliases, _kind, _desc, LAT, None, EAGLE, _SUBSET, _note))

# --- nn-Meter (measured by its authors; the NB201 subset as collected by OneProxy) ----------------
for _name, _aliases, _kind, _desc in (
    ("cortex-a76", ("true_a76", "pixel4-cpu"), "phone", "Arm Cortex-A76 CPU of a Pixel 4 (nn-Meter)"),
    ("adreno-630", ("true_630",), "phone", "Qualcomm Adreno 630 mobile GPU (nn-Meter)"),
    ("adreno-640", ("true_640",), "phone", "Qualcomm Adreno 640 mobile GPU (nn-Meter)"),
    ("myriad-vpu", ("true_vpu", "vpu", "intel-myriad"), "accelerator", "Intel Movidius Myriad VPU (nn-Meter)"),
):
    _register(Device(_name, _aliases, _kind, _desc, LAT, None, NNMETER, _SUBSET))

# --- HW-NAS-Bench-360 (Raspberry Pi 5 and a Pixel, several runtimes; measured energy) --------------
HW360 = "HW-NAS-Bench-360 (2026)"
_HW360_NOTE = ("only the 6,466 isomorphism-class representatives were measured (every member carries its "
               "representative's value); degenerate cells (output ignores the input) run in ~0.003 ms")
_HW360_ADD = "measured once the upstream results/dataset.parquet is registered (`hwnas data add-hw360`)"
for _runtime, _desc, _shipped in (
    ("litert", "LiteRT (TFLite) interpreter", True),
    ("torchmobile", "PyTorch Mobile (.ptl)", True),
    ("onnx", "onnxruntime", False),
):
    _aliases = tuple(f"{p}-{_runtime}" for p in ("raspi5", "rpi5", "raspberry-pi-5")) + (f"pi5_{_runtime}",)
    if _runtime == "litert":
        _aliases += ("pi5", "raspi5", "rpi5", "raspberry-pi-5")
    _detail = ("CIFAR-100 input, batch 1; " + ("predicted by a shipped gp trained on the measured table; "
               if _shipped else "no shipped predictor; ") + _HW360_ADD)
    _register(Device(
        f"pi5-{_runtime}", _aliases, "CPU",
        f"Raspberry Pi 5, one Cortex-A76 core, {_desc}; energy measured on the PMIC rails (idle subtracted)",
        LAT_EN, 1, HW360,
        (Coverage("nb201", "latency", 0, _detail), Coverage("nb201", "energy", 0, _detail)),
        _HW360_NOTE + "; values carry over to CIFAR-10 networks (only the classifier differs, 64x100 vs "
        "64x10 MACs) but not to ImageNet16-120 (16x16 input, about a quarter of the FLOPs)", class_level=True,
    ))
for _runtime in ("litert", "onnx", "torchmobile"):
    _register(Device(
        f"hw360-pixel-{_runtime}", (f"pixel_{_runtime}",), "phone",
        f"the Pixel phone of HW-NAS-Bench-360, {_runtime}" + (" (NPU delegate)" if _runtime == "litert" else ""),
        LAT_EN, 1, HW360,
        (Coverage("nb201", "latency", 0, "CIFAR-100 input; " + _HW360_ADD),
         Coverage("nb201", "energy", 0, "CIFAR-100 input; " + _HW360_ADD)),
        _HW360_NOTE + "; no data ships with hwnas", class_level=True,
    ))

# --- this machine -------------------------------------------------------------------------------
_register(Device(
    "local", ("this", "localhost"), "CPU", "this machine, profiled live with onnxruntime (later issue)", LAT, 1,
    "this machine (live)", (), "no stored measurements: live profiling is not implemented yet",
))
