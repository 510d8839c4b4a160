"""`hwnas devices`: the device table.

Register with ``cli.add_command(devices_cmd)``. The work is
done by `hwnas.devices`; this module parses, calls and prints.
"""

from __future__ import annotations

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.command("devices", context_settings=CONTEXT)
@click.option("--kind", default=None, help="Only devices of this kind: GPU, CPU, phone, accelerator, FPGA, simulator.")
def devices_cmd(kind: str | None) -> None:
    """List the target devices: kind, metrics and units, batch size, coverage and source.

    Coverage counts the architectures with a measurement (LUT: HW-NAS-Bench's FBNet block table
    prices any architecture). Any alias works wherever a device is asked for.

    \b
    Examples:
      hwnas devices
      hwnas devices --kind phone
    """
    from rich.console import Console
    from rich.table import Table

    from hwnas.devices import KINDS, all_devices, registered_hwnasbench
    from hwnas.errors import HwnasUsageError

    devices = all_devices()
    if kind is not None:
        wanted = {k.lower(): k for k in KINDS}.get(kind.strip().lower())
        if wanted is None:
            raise HwnasUsageError(f"unknown device kind {kind!r}; use one of: {', '.join(KINDS)}")
        devices = [d for d in devices if d.kind == wanted]
    table = Table(title="target devices")
    for column in ("name", "aliases", "kind", "metrics", "batch", "coverage (archs)", "source"):
        table.add_column(column)
    for d in devices:
        metrics = ", ".join(f"{m} ({u})" for m, u in d.metrics)
        batch = "-" if d.batch_size is None else str(d.batch_size)
        table.add_row(d.name, ", ".join(d.aliases), d.kind, metrics, batch, d.coverage_text(), d.source)
    console = Console()
    console.print(table)
    console.print("batch '-': not stated by the source. Notes and caveats: `hwnas.devices.get_device(name).notes`; "
                  "per-column provenance: hwnas/_data/*_measured.json.")
    meta = registered_hwnasbench()
    if meta is not None:
        nb = meta.get("nb201", {})
        console.print(f"HW-NAS-Bench pickle registered ({meta['source_name']}, {meta['registered_at']}): "
                      f"NB201 {', '.join(nb.get('datasets', [])) or 'none'}; its values take precedence.")
