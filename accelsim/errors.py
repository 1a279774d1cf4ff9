"""What the user did wrong, in one sentence.

Every error a user can cause is an :class:`AccelsimError`; the command line
prints its message on one line and exits with status 2. Anything else that
escapes is a bug in accelsim and keeps its traceback.
"""


class AccelsimError(Exception):
    """A user error: bad input, a bad option, a file that cannot be used."""


class ConfigError(AccelsimError):
    """A YAML file or a parameter that does not fit its schema."""


class WorkloadError(AccelsimError):
    """A workload that cannot be built or a layer that does not exist."""


class TraceError(AccelsimError):
    """A trace that is corrupt, unsafe, or does not fit its workload."""


class PatternError(AccelsimError):
    """An unknown or impossible sparsity pattern."""


class FormatError(AccelsimError):
    """An unknown sparse format or bad format parameters."""


class ModelError(AccelsimError):
    """A layer that an accelerator model cannot run as configured."""
