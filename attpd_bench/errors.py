"""Errors the CLI reports as one line (no traceback) and a non-zero exit code."""


class AttpdError(Exception):
    """Base class: the message names the file, column or trace and what was expected."""


class DataError(AttpdError):
    """A raw data set or a canonical store does not hold what its layout promises."""


class ConfigError(AttpdError):
    """A command-line option, study file or model name is not valid."""


class TrackingError(AttpdError):
    """The MLflow tracking server or registry cannot be reached or does not hold what was asked."""
