"""The data layer: published layouts -> canonical store (see store.py for the contract)."""

from attpd_bench.data.labels import CLASS_NAMES, DOWN, N_CLASSES, UNKNOWN, UP
from attpd_bench.data.prepare import DATASETS, PrepareReport, open_reader, prepare_store
from attpd_bench.data.store import PolarityStore, event_split

__all__ = ["CLASS_NAMES", "DATASETS", "DOWN", "N_CLASSES", "PolarityStore", "PrepareReport", "UNKNOWN", "UP",
           "event_split", "open_reader", "prepare_store"]
