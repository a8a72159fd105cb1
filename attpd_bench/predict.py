"""Predict polarities for a canonical store or a raw published layout, streaming in chunks.

Output (CSV or Parquet, by the file's extension): one row per trace with its identifiers (trace, event,
station), ``p_up``, ``p_down``, ``p_unknown`` (summing to 1; with test-time shifts their mean over the shifted
windows, and ``p_spread``, the spread of p(up) - p(down) across them), the predicted ``label`` U/D/K and the
``analyst_label`` where the input has one. Traces that cannot be read (no P pick in range, NaN samples, ...)
are listed in ``<output>.skipped.csv``, never guessed. Optionally (``skhash_out``) a complete SKHASH input set
for the up/down picks (:func:`attpd_bench.focal.skhash.write_inputs`): polarity file weighted by probability, station
file, catalogue, velocity model and control file, from what the input knows (a store's coordinates, a synthetic
region's truth) or from the user's files; what is known nowhere is an error before any model runs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from attpd_bench.focal import skhash
from attpd_bench.focal.polarities import model_weights, polarity_table
from attpd_bench.focal import sites
from attpd_bench.focal.truth import aligned_truth, find_truth
from attpd_bench import metrics as M
from attpd_bench.data.labels import CLASS_LETTERS, INVALID
from attpd_bench.data.prepare import open_reader
from attpd_bench.data.recordings import RecordingsReader
from attpd_bench.data.store import MANIFEST_FILE, PolarityStore
from attpd_bench.errors import DataError
from attpd_bench.models import load_model, polarity_probabilities, shifted_probabilities

ID_COLUMNS = ("source_trace_name", "source_id", "station_network_code", "station_code", "trace_id", "p_time")
RAW_CHUNK_TRACES = 512  # raw published traces read at a time (as `attpd data prepare` reads them)


@dataclass
class PredictReport:
    written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    skhash_picks: int = 0


def _chunks(source, dataset: str | None, chunk_size: int) -> Iterator[tuple[np.ndarray, pd.DataFrame, list]]:
    """(waveforms (n, 600), metadata, skipped) from a store, a raw layout (with ``dataset``) or a user's
    recordings (``source`` a :class:`RecordingsReader`)."""
    if isinstance(source, RecordingsReader):
        source.labels_required = False
        for chunk in source.chunks(chunk_size):
            yield chunk.waveforms, chunk.meta, chunk.skipped
        return
    if (source / MANIFEST_FILE).is_file():
        store = PolarityStore(source)
        meta = store.metadata
        for chunk in store.iter_chunks(None, chunk_size):
            yield chunk.waveforms, meta.iloc[chunk.rows].reset_index(drop=True), []
        return
    reader = open_reader(dataset, source)
    reader.labels_required = False
    # raw traces are long (INSTANCE: 3 x 12,000 samples, filtered in float64): 2,045 of them in one chunk
    # took 2.3 GB, 512 at a time 1.6 GB (and ran 2.6x faster)
    for chunk in reader.chunks(min(chunk_size, RAW_CHUNK_TRACES)):
        yield chunk.waveforms, chunk.meta, chunk.skipped


class _TableWriter:
    """Appends chunks to a CSV or Parquet file written under a temporary name, renamed when complete."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)  # a new folder for the table is the user's intent
        self.path = path
        self.parquet = path.suffix.lower() in (".parquet", ".pq")
        self.tmp = path.with_name(f".{path.name}.partial")
        self._pq = None
        self._first = True

    def write(self, frame: pd.DataFrame) -> None:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.tmp, table.schema)
            self._pq.write_table(table)
        else:
            frame.to_csv(self.tmp, mode="w" if self._first else "a", header=self._first, index=False)
        self._first = False

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
        if self._first:
            self.write(pd.DataFrame(columns=[*ID_COLUMNS, "p_up", "p_down", "p_unknown", "label"]))
            if self._pq is not None:
                self._pq.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self._pq is not None:
            self._pq.close()
        self.tmp.unlink(missing_ok=True)


TABLE_COLUMNS = ("p_up", "p_down", "p_unknown", "label")  # what marks a prediction table this suite wrote


def check_request(source, output: Path, *, dataset: str | None = None, skhash_out: Path | None = None,
                  quakeml_out: Path | None = None, min_probability: float = 0.0,
                  min_confidence: float = M.DEFAULT_MIN_CONFIDENCE, overwrite: bool = False,
                  stations: Path | None = None, shifts=None, **geometry_files) -> sites.Geometry | None:
    """Everything about a prediction request that can be checked before a model is loaded or a run exists;
    with ``skhash_out``, returns SKHASH's geometry (``stations`` and ``geometry_files``: the user's stations,
    catalog and velocity_model files, where the input lacks them). ``source`` is a store or raw folder, or a
    :class:`RecordingsReader` of a user's files (whose stations may be StationXML).

    An existing output is replaced only with ``overwrite``, and only if it is a file (or SKHASH folder) this
    suite wrote: a user's own file of the same name is never touched."""
    recordings = source if isinstance(source, RecordingsReader) else None
    output = Path(output)
    if recordings is None:
        source = Path(source)
        if not source.exists():
            raise DataError(f"{source}: --input not found")
        if not (source / MANIFEST_FILE).is_file() and dataset is None:
            raise DataError(f"{source}: not a canonical store; give --dataset (ins, hinet, scsn, pnw) to read it "
                            f"as a raw published layout")
    elif quakeml_out is not None and Path(quakeml_out).exists() and not overwrite:
        raise DataError(f"{quakeml_out}: exists; pass --overwrite to replace it")
    if output.suffix.lower() not in (".csv", ".gz", ".parquet", ".pq"):
        raise DataError(f"{output}: --output must end in .csv or .parquet")
    for option, value in (("--min-probability", min_probability), ("--min-confidence", min_confidence)):
        if not 0.0 <= value <= 1.0:
            raise DataError(f"{option} must lie between 0 and 1, got {value}")
    if output.exists():
        if not overwrite:
            raise DataError(f"{output}: exists; pass --overwrite to replace a file this suite wrote")
        if not _written_by_us(output, TABLE_COLUMNS):
            raise DataError(f"{output}: exists and is not a file this suite wrote (no {', '.join(TABLE_COLUMNS)} "
                            f"columns); refusing to replace it")
    if skhash_out is None:
        return None
    skhash_out = Path(skhash_out)
    if skhash_out.exists() and (not skhash_out.is_dir() or any(skhash_out.iterdir())):
        if not skhash.written_by_us(skhash_out):
            raise DataError(f"{skhash_out}: --skhash-out exists and is not a SKHASH folder this suite wrote; "
                            f"refusing to write into it")
        if not overwrite:
            raise DataError(f"{skhash_out}: exists; pass --overwrite to replace a SKHASH folder this suite wrote")
    if recordings is not None:
        recordings.attach_geometry(stations=stations)
        return sites.geometry(recordings.canonical, **geometry_files)
    meta = PolarityStore(source).metadata if (source / MANIFEST_FILE).is_file() else \
        open_reader(dataset, source).canonical
    truth = find_truth(source)
    aligned = aligned_truth(meta, truth) if truth is not None else None
    return sites.geometry(meta, truth=aligned, truth_path=truth, stations=stations, **geometry_files)


def _written_by_us(path: Path, columns: tuple[str, ...]) -> bool:
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
        else:
            names = pd.read_csv(path, nrows=0).columns.tolist()
    except Exception:  # unreadable, a folder, another format: not ours
        return False
    return set(columns) <= set(names)


#: The options of a prediction request (checked by :func:`check_request`); the others only shape the run.
REQUEST_OPTIONS = ("dataset", "skhash_out", "quakeml_out", "min_probability", "min_confidence", "stations",
                   "catalog", "velocity_model", "shifts")


def predict_to_file(model, source: Path, output: Path, *, overwrite: bool = False, **options) -> PredictReport:
    """Predict every trace of ``source`` into ``output``. ``options``: the request's (:data:`REQUEST_OPTIONS`,
    checked by :func:`check_request`) and the run's (``batch_size``, ``chunk_size``, ``on_chunk``)."""
    request, run_options = _request_and_run_options(options)
    geometry = check_request(source, output, overwrite=overwrite, **request)
    return _predict(model, source, output, geometry, request, **run_options)


def _request_and_run_options(options: dict) -> tuple[dict, dict]:
    request = {key: value for key, value in options.items() if key in REQUEST_OPTIONS}
    return request, {key: value for key, value in options.items() if key not in REQUEST_OPTIONS}


def _predict(model, source: Path, output: Path, geometry: sites.Geometry | None, request: dict, *,
             batch_size: int = 1024, chunk_size: int = 8192,
             on_chunk: Callable[[int, int | None], None] | None = None) -> PredictReport:
    """The prediction of a request already checked (``geometry``: SKHASH's, with ``skhash_out``)."""
    dataset, skhash_out, quakeml_out = request.get("dataset"), request.get("skhash_out"), request.get("quakeml_out")
    min_probability = request.get("min_probability", 0.0)
    min_confidence = request.get("min_confidence", M.DEFAULT_MIN_CONFIDENCE)
    shifts = request.get("shifts")  # models.WindowShifts: the mean over shifted windows and its spread
    output = Path(output)
    source = source if isinstance(source, RecordingsReader) else Path(source)
    report = PredictReport()
    writer = _TableWriter(output)
    skipped_file = output.with_name(output.name + ".skipped.csv")
    skipped_file.unlink(missing_ok=True)  # an --overwrite must not leave the last run's list beside the new table
    picks, predicted = [], []
    start = time.perf_counter()
    try:
        for waveforms, meta, skipped in _chunks(source, dataset, chunk_size):
            report.skipped.extend(skipped)
            if len(waveforms) == 0:
                continue
            if shifts is not None and shifts.count:
                probs, spread = shifted_probabilities(model, waveforms, shifts, batch_size=batch_size)
            else:
                probs, spread = polarity_probabilities(model, waveforms, batch_size=batch_size), None
            frame = meta[[c for c in ID_COLUMNS if c in meta]].copy()
            frame["p_up"], frame["p_down"], frame["p_unknown"] = probs[:, 0], probs[:, 1], probs[:, 2]
            if spread is not None:
                frame["p_spread"] = spread
            pred = M.decide(probs, min_confidence)
            frame["label"] = np.asarray(CLASS_LETTERS)[pred]
            if "label" in meta:
                analyst = meta["label"].to_numpy()
                frame["analyst_label"] = np.where(analyst == INVALID, "",
                                                  np.asarray(CLASS_LETTERS)[np.clip(analyst, 0, 2)])
            writer.write(frame)
            if quakeml_out is not None:
                predicted.append(pd.DataFrame({"pick_index": meta["pick_index"].to_numpy(), "p_up": probs[:, 0],
                                               "p_down": probs[:, 1], "p_unknown": probs[:, 2]}))
            report.written += len(frame)
            if skhash_out is not None:
                picks.append(polarity_table(meta, model_weights(probs, min_probability)))
            if on_chunk:
                on_chunk(report.written, None)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    report.seconds = time.perf_counter() - start
    if report.skipped:
        pd.DataFrame(report.skipped, columns=["source_trace_name", "reason"]).to_csv(skipped_file, index=False)
    if skhash_out is not None:
        table = pd.concat(picks, ignore_index=True) if picks else \
            pd.DataFrame(columns=list(skhash.POLARITY_COLUMNS))
        table = table.sort_values(list(skhash.POLARITY_COLUMNS[:5]), kind="stable")
        skhash.write_inputs(skhash_out, table, geometry.stations, geometry.catalog, geometry.velocity_model)
        report.skhash_picks = len(table)
    if quakeml_out is not None:
        source.write_quakeml(Path(quakeml_out), pd.concat(predicted, ignore_index=True) if predicted else None,
                             method=request.get("model_uri", "attpd-bench"))
    return report


def predict_and_log(model_uri: str, source: Path, output: Path, *, overwrite: bool = False,
                    **options) -> PredictReport:
    """:func:`predict_to_file` with the model loaded from ``model_uri``, recorded as a run in ``attpd/predict``;
    the request is checked once, first (:func:`check_request`), so a bad one leaves no run and no file.
    The run's tags name the version a registered model's alias pointed to (:func:`registry.resolve`)."""
    from attpd_bench import registry, tracking

    request, run_options = _request_and_run_options(options)
    geometry = check_request(source, output, overwrite=overwrite, **request)  # before any run and TensorFlow
    provenance = registry.resolve(model_uri)  # the version an alias points to now, kept with the run

    model = load_model(model_uri)
    if request.get("shifts") is not None:
        request["shifts"].check(model)  # the model's window takes them: before the run
    tags = tracking.standard_tags(model=None, dataset=options.get("dataset"), store_fingerprint=None, seed=None,
                                  kind="prediction", predicted_model_uri=model_uri,
                                  **{k: v for k, v in provenance.items() if k != "model_uri"})
    with tracking.run(tracking.experiment_name("predict"), None, tags) as log:
        shifts = request.get("shifts")
        log.log_params({"model_uri": model_uri, "input": str(source), "output": str(output),
                        **({"shifts": shifts.count, "shift_samples": shifts.max_samples, "shift_seed": shifts.seed}
                           if shifts is not None and shifts.count else {})})
        report = _predict(model, source, output, geometry, {**request, "model_uri": model_uri}, **run_options)
        log.log_metrics({"traces_written": report.written, "traces_skipped": len(report.skipped),
                         "traces_per_s": report.written / max(report.seconds, 1e-9)})
    return report
