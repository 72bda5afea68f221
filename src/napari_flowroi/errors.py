"""Errors a user can act on.

Anything raised as :class:`FlowRoIError` is the user's to fix (bad input, bad setting, existing
output); its message says what is wrong and what to do. The command line prints it as one line and
exits 2, the napari widgets show it as a notification. Anything else is a bug (exit 1).
"""


class FlowRoIError(Exception):
    """A problem with the input, the settings or the output that the user can fix."""


class SettingsError(FlowRoIError, ValueError):
    """A setting is out of range or of the wrong kind."""


class InputError(FlowRoIError):
    """The input movie cannot be used as it is."""


class OutputError(FlowRoIError):
    """The output cannot be written (exists, is inside the input, is not writable...)."""


class CancelledError(FlowRoIError):
    """The user cancelled a long run; what was finished is kept and a rerun resumes."""
