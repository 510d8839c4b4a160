"""Target devices (installed as `hwnas.devices`).

Planned: the device registry (name, aliases, kind, metrics, batch size, source, coverage),
the shipped measured tables with provenance, and live onnxruntime profiling of this machine.
"""
