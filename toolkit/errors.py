"""User-facing errors: one clear line naming the problem and the fix, exit code 2."""


class GantkError(Exception):
    """A problem with the user's input or environment (not a bug): shown as one line."""

    exit_code = 2


class ConfigError(GantkError):
    """An invalid run configuration, caught before any work starts."""


class RegistryError(GantkError):
    """An unknown or duplicate plugin name."""


class StoreError(GantkError):
    """A path that is not a usable ImageStore."""


class TrainingError(GantkError):
    """Training stopped for a reason the user must act on (e.g. a non-finite loss)."""

    exit_code = 3


class ContractError(GantkError):
    """A plugin that breaks its contract (a model's shapes, a loss's values): one line
    naming the plugin and what it got wrong."""
