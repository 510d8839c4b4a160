"""The one exception type for mistakes a user can fix (bad names, out-of-range values, paths).

The CLI turns it into a single line on stderr and exit code 2; anything else is a bug.
"""


class HwnasUsageError(ValueError):
    """Bad input from the user. The message names the problem and the fix, on one line."""


class ExportError(RuntimeError):
    """An exported graph failed `onnx.checker` or disagrees with PyTorch (a bug, not a usage error)."""
