"""Sub-command groups of the `hwnas` CLI, one module each (registered in `hwnas.cli`).

Each module defines a click group or command and imports its heavy dependencies (torch, numpy,
the proxy package) inside the command body, so that `hwnas --help` stays fast.
"""
