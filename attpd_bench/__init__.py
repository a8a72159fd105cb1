"""attpd-bench: train, tune, compare and promote P-wave first-motion polarity models."""

__version__ = "0.1.0"
