"""A user's own recordings (issue 19): real Hi-net SAC files with CSV, QuakeML and SAC-marker picks; miniSEED and
resampled copies give the store's window; every bad kind of recording is listed with its reason."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from obspy import Stream, Trace, UTCDateTime, read, read_events
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from attpd_bench import tracking
from attpd_bench.cli import app
from attpd_bench.data.labels import DOWN, UNKNOWN, UP
from attpd_bench.data.recordings import RecordingsReader, read_picks, read_stations
from attpd_bench.sim_to_real import KUMAMOTO

runner = CliRunner()
WAVEFORMS = KUMAMOTO / "waveforms"
PICKS = KUMAMOTO / "picks.csv"


def _quakeml_from_csv(path):
    """The Kumamoto picks as a QuakeML catalogue with the event's origin (what a network's catalogue holds)."""
    from obspy.core.event import Catalog, Event, Origin, Pick, ResourceIdentifier, WaveformStreamID

    picks = pd.read_csv(PICKS)
    origin = pd.read_csv(KUMAMOTO / "catalog.csv").iloc[0]
    event = Event(resource_id=ResourceIdentifier(f"smi:local/{origin['event_id']}"))
    event.origins.append(Origin(time=UTCDateTime(origin["origin_time"]), latitude=origin["latitude"],
                                longitude=origin["longitude"], depth=origin["depth_km"] * 1000.0))
    for row in picks.itertuples():
        polarity = {"U": "positive", "D": "negative"}.get(row.polarity)
        event.picks.append(Pick(time=UTCDateTime(row.p_time), phase_hint="P", polarity=polarity,
                                waveform_id=WaveformStreamID(network_code="", station_code=row.station,
                                                             channel_code="U")))
    Catalog([event]).write(str(path), format="QUAKEML")
    return path


def _stationxml_from_sac(path):
    """StationXML of the SAC headers' coordinates (as a network's metadata service would give them)."""
    from obspy.core.inventory import Channel, Inventory, Network, Station

    stations = []
    for file in sorted(WAVEFORMS.glob("*.SAC")):
        tr = read(str(file), headonly=True)[0]
        sac = tr.stats.sac
        channel = Channel(code=tr.stats.channel, location_code="", latitude=sac.stla, longitude=sac.stlo,
                          elevation=sac.stel, depth=0.0)
        stations.append(Station(code=tr.stats.station, latitude=sac.stla, longitude=sac.stlo, elevation=sac.stel,
                                channels=[channel]))
    Inventory(networks=[Network(code="", stations=stations)], source="attpd-bench test").write(
        str(path), format="STATIONXML")
    return path


def test_kumamoto_sac_files_with_csv_picks():
    reader = RecordingsReader([WAVEFORMS], read_picks(PICKS))
    reader.labels_required = False
    assert len(reader) == 59  # 72 picks, 13 without a waveform file
    reasons = dict(reader.skipped_at_scan)
    assert sum("no waveform" in r for r in reasons.values()) == 13
    labels = reader.canonical["label"].to_numpy()
    assert (labels == UP).sum() == 17 and (labels == DOWN).sum() == 12 and (labels == UNKNOWN).sum() == 30
    chunks = list(reader.chunks(20))
    assert sum(len(c.waveforms) for c in chunks) == 59 and all(c.waveforms.shape[1] == 600 for c in chunks)
    assert reader.canonical["station_latitude_deg"].between(30, 36).all()  # from the SAC headers


def test_predict_recordings_writes_table_and_quakeml(workdir):
    """`attpd predict --waveforms --picks` on real SAC files: a row per trace, skipped picks listed, and the
    catalogue written back as QuakeML that ObsPy reads with a polarity on every predicted pick."""
    quakeml = _quakeml_from_csv(workdir / "picks.xml")
    result = runner.invoke(app, ["predict", "--model-uri", "first-motion", "--waveforms", str(WAVEFORMS),
                                 "--picks", str(quakeml), "--output", "out/pred.csv", "--quakeml-out", "out/pol.xml"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(workdir / "out" / "pred.csv")
    assert len(table) == 59 and {"trace_id", "p_time", "p_up", "label"} <= set(table.columns)
    skipped = pd.read_csv(workdir / "out" / "pred.csv.skipped.csv")
    assert len(skipped) == 13
    assert "(listed in out/pred.csv.skipped.csv)" in result.output.replace("\n", "")  # the file where it is
    catalog = read_events(str(workdir / "out" / "pol.xml"))
    predicted = [p for p in catalog[0].picks if any("attpd-bench" in c.text for c in p.comments)]
    assert len(predicted) == 59
    assert all(p.polarity in ("positive", "negative", "undecidable") for p in predicted)
    by_station = {p.waveform_id.station_code: p.polarity for p in predicted}
    letters = table.set_index("station_code")["label"]
    assert all({"U": "positive", "D": "negative", "K": "undecidable"}[letters[s]] == by_station[s] for s in letters.index)
    # the same picks from the CSV give the same predictions
    result = runner.invoke(app, ["predict", "--model-uri", "first-motion", "--waveforms", str(WAVEFORMS / "*.SAC"),
                                 "--picks", str(PICKS), "--output", "csv.csv"])
    assert result.exit_code == 0, result.output
    from_csv = pd.read_csv(workdir / "csv.csv").set_index("station_code")["label"]
    assert from_csv.sort_index().equals(letters.sort_index())


@pytest.mark.slow
def test_recordings_to_skhash_mechanism(workdir):
    """SAC coordinates as StationXML, the origin from QuakeML: `--skhash-out` runs in SKHASH and gives the
    event a mechanism; the `first-motion` rule's polarities of the real traces give one within 60 deg of F-net's."""
    from attpd_bench.focal import skhash
    from attpd_bench.focal.mechanism import kagan_angle

    quakeml = _quakeml_from_csv(workdir / "picks.xml")
    stationxml = _stationxml_from_sac(workdir / "stations.xml")
    result = runner.invoke(app, ["predict", "--model-uri", "first-motion", "--waveforms", str(WAVEFORMS),
                                 "--picks", str(quakeml), "--stations", str(stationxml), "--velocity-model", "hinet",
                                 "--output", "pred.csv", "--skhash-out", "skh"])
    assert result.exit_code == 0, result.output
    mechanisms = skhash.run(workdir / "skh" / "control.txt")
    assert len(mechanisms) == 1 and mechanisms["event_id"].iloc[0] == "J2016041507465204"
    fnet = (20, 69, 172)
    angle = float(np.ravel(kagan_angle(fnet, tuple(mechanisms[["strike", "dip", "rake"]].iloc[0])))[0])
    assert angle < 60, angle


def test_stations_from_stationxml_and_csv(tmp_path):
    xml = read_stations(_stationxml_from_sac(tmp_path / "s.xml"))
    assert len(xml) == 59 and xml["latitude"].between(30, 36).all()
    xml.to_csv(tmp_path / "s.csv", index=False)
    assert read_stations(tmp_path / "s.csv")["station"].tolist() == xml["station"].tolist()


def test_miniseed_of_a_published_trace_gives_the_store_window(raw_regions, stores, tmp_path):
    """A Hi-net layout trace written as miniSEED, with its P pick in a CSV, gives the window the store holds
    (float32 rounding); so do 200 Hz and 500 Hz copies, resampled to 100 Hz with ObsPy's Fourier method."""
    import h5py

    store = stores[("hinet", "native")]
    meta = store.metadata
    row = 3
    name = meta["source_trace_name"].iloc[row]
    raw = pd.read_csv(raw_regions[("hinet", "native")] / "HINET_Polarity_15_19.csv").set_index("trace_name")
    with h5py.File(raw_regions[("hinet", "native")] / "HINET_Polarity_15_19.hdf5") as h5:
        z = h5[f"data/{name}"][:, 2].astype(np.float64)
    start = UTCDateTime("2020-01-01T00:00:00")
    p_time = start + raw.loc[name, "p_arrival_sample"] / 100.0
    expected = store.read_rows(np.array([row]))[0]
    pd.DataFrame({"event_id": ["e1"], "trace_id": ["N.STA..HHZ"], "p_time": [str(p_time)],
                  "polarity": ["U"]}).to_csv(tmp_path / "picks.csv", index=False)
    original = Trace(z, header={"network": "N", "station": "STA", "channel": "HHZ", "starttime": start,
                                "sampling_rate": 100.0})
    for rate in (100.0, 200.0, 500.0):
        trace = original.copy()
        if rate != 100.0:
            trace.resample(rate, window=None)
        trace.data = trace.data.astype(np.float32)
        path = tmp_path / f"{int(rate)}.mseed"
        Stream([trace]).write(str(path), format="MSEED")
        reader = RecordingsReader([path], read_picks(tmp_path / "picks.csv"))
        window = next(reader.chunks()).waveforms[0]
        peak = np.abs(expected).max()
        tolerance = 1e-5 if rate == 100.0 else 2e-3  # float32 rounding; resampling back and forth
        assert np.abs(window - expected).max() <= tolerance * peak, (rate, np.abs(window - expected).max() / peak)


def _trace(station, channel, start, seconds, rate=100.0):
    data = np.random.default_rng(0).normal(size=int(seconds * rate))
    return Trace(data, header={"network": "XX", "station": station, "channel": channel, "starttime": start,
                               "sampling_rate": rate})


def test_every_bad_recording_is_listed_with_its_reason(tmp_path):
    """The kinds of issue 19: no pick, pick too near an end, a gap or masked data around P, no vertical channel,
    two picks for one trace, an unreadable file, a pick without waveform; never zero-filled."""
    t0 = UTCDateTime("2021-06-01T00:00:00")
    Stream([_trace("GOOD", "HHZ", t0, 60)]).write(str(tmp_path / "good.mseed"), format="MSEED")
    Stream([_trace("NOPK", "HHZ", t0, 60)]).write(str(tmp_path / "nopick.mseed"), format="MSEED")
    Stream([_trace("EDGE", "HHZ", t0, 60)]).write(str(tmp_path / "edge.mseed"), format="MSEED")
    Stream([_trace("GAPS", "HHZ", t0, 20), _trace("GAPS", "HHZ", t0 + 30, 30)]).write(
        str(tmp_path / "gap.mseed"), format="MSEED")
    Stream([_trace("HORZ", "HHN", t0, 60), _trace("HORZ", "HHE", t0, 60)]).write(
        str(tmp_path / "horizontal.mseed"), format="MSEED")
    Stream([_trace("TWIC", "HHZ", t0, 60)]).write(str(tmp_path / "twice.mseed"), format="MSEED")
    (tmp_path / "broken.mseed").write_bytes(b"not a seismogram at all" * 10)
    picks = pd.DataFrame({"event_id": ["e1"] * 8,
                          "trace_id": ["XX.GOOD..HHZ", "XX.EDGE..HHZ", "XX.GAPS..HHZ", "XX.TWIC..HHZ",
                                       "XX.TWIC..HHZ", "XX.NONE..HHZ", "XX.HORZ..HHZ", "XX.GOOD..HHZ"],
                          "p_time": [str(t0 + 30), str(t0 + 58.5), str(t0 + 25), str(t0 + 30), str(t0 + 31),
                                     str(t0 + 30), str(t0 + 30), str(t0 + 30)],
                          "polarity": ["U", "D", "U", "U", "U", "U", "U", "U"]})
    picks.iloc[:7].to_csv(tmp_path / "picks.csv", index=False)
    reader = RecordingsReader([tmp_path / "*.mseed"], read_picks(tmp_path / "picks.csv"))
    chunks = list(reader.chunks())
    reasons = {name: reason for c in chunks for name, reason in c.skipped}
    written = pd.concat([c.meta for c in chunks])["station_code"].tolist()
    assert written == ["GOOD"]

    def reason_of(fragment):
        return next(r for n, r in reasons.items() if fragment in n)

    assert "no pick" in reason_of("nopick.mseed")
    assert "too near an end" in reason_of("EDGE")
    assert "gap" in reason_of("GAPS")
    assert "two P picks" in reason_of("TWIC")
    assert "no waveform" in reason_of("NONE")
    assert "no vertical channel" in reason_of("horizontal.mseed")
    assert "unreadable file" in reason_of("broken.mseed")
    # masked data around P (a merged stream with a gap is masked; never zero-filled)
    stream = Stream([_trace("MASK", "HHZ", t0, 20), _trace("MASK", "HHZ", t0 + 25, 35)])
    stream.merge()
    assert np.ma.isMaskedArray(stream[0].data)
    from attpd_bench.data.recordings import _window

    assert _window(stream[0], t0 + 22)[1] == "a gap or masked data around P"


def test_bad_pick_files_are_one_clear_line(tmp_path):
    (tmp_path / "w.mseed").write_bytes(b"")
    pd.DataFrame({"station": ["A"], "p_time": ["yesterday"]}).to_csv(tmp_path / "bad_time.csv", index=False)
    pd.DataFrame({"station": ["A"], "time": ["2020-01-01"]}).to_csv(tmp_path / "no_ptime.csv", index=False)
    pd.DataFrame({"station": ["A"], "p_time": ["2020-01-01"], "polarity": ["sideways"]}).to_csv(
        tmp_path / "bad_pol.csv", index=False)
    cases = {"bad_time.csv": "column 'p_time'", "no_ptime.csv": "missing column(s) 'p_time'",
             "bad_pol.csv": "column 'polarity'", "sac:t11": "unknown SAC marker", "nothere.xml": "not found"}
    for picks, message in cases.items():
        spec = picks if picks.startswith("sac:") else str(tmp_path / picks)
        result = runner.invoke(app, ["predict", "--model-uri", "first-motion", "--waveforms", str(WAVEFORMS),
                                     "--picks", spec, "--output", str(tmp_path / "o.csv")])
        assert result.exit_code == 1, (picks, result.output)
        assert message in result.output and "Traceback" not in result.output, (picks, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert not (tmp_path / "o.csv").exists()


@pytest.mark.slow
def test_evaluate_on_labelled_recordings_scores_against_the_analyst(workdir):
    """`attpd evaluate --waveforms --picks`: the figure the sim-to-real table gives, one run logged; two events
    are resampled as events, one event's traces within each class."""
    from mlflow.tracking import MlflowClient

    from attpd_bench import sim_to_real, tracking

    expected = sim_to_real.score_models({"first-motion": "first-motion"}).iloc[0]
    result = runner.invoke(app, ["evaluate", "--model-uri", "first-motion", "--waveforms", str(WAVEFORMS),
                                 "--picks", str(PICKS), "--dataset", "kumamoto", "--json"])
    assert result.exit_code == 0, result.output[-2000:]
    scores = json.loads(result.output[result.output.index("{"):])
    assert (scores["n"], scores["n_up"], scores["n_down"], scores["n_events"]) == (29, 17, 12, 1)
    assert scores["balanced_accuracy"] == pytest.approx(expected["balanced_accuracy"])
    assert scores["resampled"] == "traces"
    tracking.configure(None)
    experiment = MlflowClient().get_experiment_by_name("attpd/kumamoto")
    run = MlflowClient().search_runs([experiment.experiment_id])[0]
    assert run.data.metrics["balanced_accuracy"] == pytest.approx(expected["balanced_accuracy"])
    assert run.data.tags["kind"] == "evaluation-recordings"
    # the same traces as two events (odd and even stations): now events are what the bootstrap draws
    picks = pd.read_csv(PICKS)
    picks["event_id"] = np.where(np.arange(len(picks)) % 2 == 0, "A", "B")
    picks.to_csv(workdir / "two-events.csv", index=False)
    two = runner.invoke(app, ["evaluate", "--model-uri", "first-motion", "--waveforms", str(WAVEFORMS),
                              "--picks", str(workdir / "two-events.csv")])
    assert two.exit_code == 0, two.output[-2000:]
    assert "intervals resample events" in two.output and f"{expected['balanced_accuracy']:.3f}" in two.output
    # issue 36: the run holds its risk-coverage figure, and --min-confidence makes the picker abstain
    client = MlflowClient()
    assert "risk_coverage.png" in {a.path.split("/")[-1] for a in client.list_artifacts(run.info.run_id, "figures")}
    strict = runner.invoke(app, ["evaluate", "--model-uri", "first-motion", "--waveforms", str(WAVEFORMS),
                                 "--picks", str(PICKS), "--min-confidence", "0.999", "--json"])
    strict_scores = json.loads(strict.output[strict.output.index("{"):])
    assert strict_scores["coverage"] < scores["coverage"] and strict_scores["n"] == scores["n"]
    bad_threshold = runner.invoke(app, ["evaluate", "--model-uri", "first-motion", "--waveforms", str(WAVEFORMS),
                                        "--picks", str(PICKS), "--min-confidence", "2"])
    assert bad_threshold.exit_code == 1 and "--min-confidence must lie between 0 and 1" in bad_threshold.output
    unlabelled = picks.assign(polarity="")
    unlabelled.to_csv(workdir / "unlabelled.csv", index=False)
    for args, message in ((["--picks", str(workdir / "unlabelled.csv")], "no trace is labelled up or down"),
                          ([], "--waveforms needs --picks"),
                          (["--picks", str(PICKS), "--store", str(workdir)], "not both")):
        bad = runner.invoke(app, ["evaluate", "--model-uri", "first-motion", "--waveforms", str(WAVEFORMS), *args])
        assert bad.exit_code == 1 and message in bad.output, bad.output[-1000:]
    # --picks without --waveforms would be silently ignored beside a store: refused, naming both options
    stray = runner.invoke(app, ["evaluate", "--model-uri", "first-motion", "--store", str(workdir), "--picks",
                                str(PICKS)])
    assert stray.exit_code == 1 and "--picks goes with --waveforms" in stray.output, stray.output[-1000:]


def test_event_bootstrap_of_real_scores_draws_events():
    from attpd_bench.sim_to_real import score

    labels = np.array([UP] * 10 + [DOWN] * 10)
    predicted = labels.copy()
    predicted[:5] = DOWN  # event A's five up traces all wrong, every other trace right
    events = np.array(["A"] * 5 + ["B"] * 5 + ["A"] * 5 + ["B"] * 5)
    by_trace, by_event = score(labels, predicted), score(labels, predicted, events=events)
    assert by_trace["balanced_accuracy"] == by_event["balanced_accuracy"] == pytest.approx(0.75)
    assert by_event["resampled"] == "events, then traces within each" and by_event["n_events"] == 2
    # two events: a replicate is A twice, B twice or one of each, so the interval reaches 0.5 and 1.0
    assert by_event["balanced_accuracy_ci"][0] == pytest.approx(0.5)
    assert by_event["balanced_accuracy_ci"][1] == pytest.approx(1.0)
    assert by_trace["balanced_accuracy_ci"][0] > 0.5


def test_real_cases_are_found_scored_each_and_pooled_by_event(tmp_path, monkeypatch):
    """Every folder of waveforms/ and picks beside the shipped case is a real case: each is scored, and two or
    more are also scored pooled with events (named by case) resampled; a folder without picks is refused."""
    from attpd_bench import sim_to_real
    from attpd_bench.errors import DataError

    root = tmp_path / "real"
    for name, event in (("a-case", "A"), ("b-case", "B")):
        (root / name).mkdir(parents=True)
        (root / name / "waveforms").symlink_to(WAVEFORMS)
        pd.read_csv(PICKS).assign(event_id=event).to_csv(root / name / "picks.csv", index=False)
    (root / "notes").mkdir()  # no waveforms/: not a case
    cases = sim_to_real.real_cases(root)
    assert [c.name for c in cases] == ["a-case", "b-case"]
    assert [c.name for c in sim_to_real.real_cases(root / "a-case")] == ["a-case"]  # a case folder itself
    monkeypatch.chdir(tmp_path)  # a relative folder is where the user is, not where the demo works later
    relative = sim_to_real.real_cases("real")
    monkeypatch.chdir(root / "notes")
    assert relative[0].describe() == f"`{root / 'a-case'}/`" and relative[0].reader().waveforms

    tables = sim_to_real.score_cases({"first-motion": "first-motion"}, sim_to_real.read_cases(cases))
    assert list(tables) == [sim_to_real.POOLED, "a-case", "b-case"]
    alone = sim_to_real.score_models({"first-motion": "first-motion"}).iloc[0]
    pooled, each = tables[sim_to_real.POOLED].iloc[0], tables["a-case"].iloc[0]
    assert each["balanced_accuracy"] == pytest.approx(alone["balanced_accuracy"])
    assert each["balanced_accuracy_ci"] == pytest.approx(alone["balanced_accuracy_ci"])
    assert (pooled["n"], pooled["n_events"], pooled["resampled"]) == (58, 2, "events, then traces within each")
    assert pooled["balanced_accuracy"] == pytest.approx(alone["balanced_accuracy"])  # two copies of one event
    # issue 38 item 4: two identical events are not two independent ones: the two-stage bootstrap keeps the
    # traces' spread (the old event-only bootstrap gave this a zero-width interval); one copy's / sqrt 2 at least
    width = np.diff(pooled["balanced_accuracy_ci"])[0]
    alone_width = np.diff(alone["balanced_accuracy_ci"])[0]
    assert alone_width > 0.05 and width >= 0.6 * alone_width
    assert pooled["balanced_accuracy_ci"][0] <= pooled["balanced_accuracy"] <= pooled["balanced_accuracy_ci"][1]
    text = sim_to_real.markdown(tables, cases)
    assert text.startswith("Dev: all 2 real cases pooled: the 58 traces an analyst labelled (34 up, 24 down) of 2 "
                           "events") and "intervals: events, then traces within each resampled" in text
    assert text.count("| first-motion |") == 3 and f"`{root / 'b-case'}/`" in text

    (root / "unlabelled" / "waveforms").mkdir(parents=True)
    (root / "unlabelled" / "waveforms" / "x.SAC").symlink_to(next(WAVEFORMS.glob("*.SAC")))
    pd.read_csv(PICKS).assign(polarity="K").to_csv(root / "unlabelled" / "picks.csv", index=False)
    with pytest.raises(DataError, match="unlabelled: no readable trace with a pick labelled up or down"):
        sim_to_real.read_cases(sim_to_real.real_cases(root / "unlabelled"))
    (root / "unlabelled" / "picks.csv").write_text("station,p_time,polarity\nNOSUCH,2016-04-15T07:46:54Z,U\n")
    with pytest.raises(DataError, match="unlabelled: no readable trace with a P pick"):
        sim_to_real.read_cases(sim_to_real.real_cases(root / "unlabelled"))
    shutil.rmtree(root / "unlabelled")
    (root / "c-case" / "waveforms").mkdir(parents=True)
    with pytest.raises(DataError, match="c-case: a real case needs its picks beside waveforms/ .picks.csv"):
        sim_to_real.real_cases(root)
    with pytest.raises(DataError, match="nowhere: --real-data folder not found"):
        sim_to_real.real_cases(tmp_path / "nowhere")


def test_numeric_polarities_follow_skhash_signs(tmp_path):
    """A picks CSV whose polarity column is SKHASH's numbers (1 up, -1 down, 0 unknown; written as floats
    where a column has blanks) reads as the letters do; another number is refused naming it."""
    from attpd_bench.data.recordings import polarity_labels
    from attpd_bench.errors import DataError

    picks = pd.read_csv(PICKS)
    picks["polarity"] = picks["polarity"].map({"U": 1, "D": -1, "K": 0})
    picks.to_csv(tmp_path / "numeric.csv", index=False)
    letters, numbers = read_picks(PICKS).table, read_picks(tmp_path / "numeric.csv").table
    np.testing.assert_array_equal(numbers["label"].to_numpy(), letters["label"].to_numpy())
    np.testing.assert_array_equal(polarity_labels(["+1", "1.0", "-1", "0", 1, -1.0, 0.0, ""]),
                                  [UP, UP, DOWN, UNKNOWN, UP, DOWN, UNKNOWN, -1])
    with pytest.raises(DataError, match="polarity '2' not understood"):
        polarity_labels(["2"])


@pytest.mark.parametrize("offset", [1e4, 1e5])
def test_a_dc_offset_and_a_trend_do_not_reach_the_window(tmp_path, offset):
    """Issue 38 item 1: raw counts with a DC offset (and a slow drift) and P 3 s after the start give the same
    window as without them: the peak is the onset's, not the taper's transient at the window's start, and the
    first-motion rule reads the onset's sign. The published layouts keep the original processing (no detrend)."""
    from attpd_bench.data.preprocess import model_windows, preprocess_long
    from attpd_bench.models.first_motion import FirstMotionPicker

    rng = np.random.default_rng(1)
    n, p = 3000, 300
    t = np.arange(n) - p
    onset = np.where(t >= 0, -np.sin(2 * np.pi * t / 25) * np.exp(-np.maximum(t, 0) / 40), 0.0) * 500
    clean = onset + rng.normal(0, 5, n)
    start = UTCDateTime("2020-01-01T00:00:00")
    pd.DataFrame({"event_id": ["e1"], "trace_id": ["XX.STA..HHZ"], "p_time": [str(start + p / 100.0)],
                  "polarity": ["D"]}).to_csv(tmp_path / "picks.csv", index=False)
    windows = []
    for data in (clean, clean + offset + np.linspace(0, offset / 10, n)):
        path = tmp_path / "trace.mseed"
        Stream([Trace(data.astype(np.float32), header={"network": "XX", "station": "STA", "channel": "HHZ",
                                                       "starttime": start, "sampling_rate": 100.0})]).write(
            str(path), format="MSEED")
        windows.append(next(RecordingsReader([path], read_picks(tmp_path / "picks.csv")).chunks()).waveforms[0])
    model_window = model_windows(windows[1][None, :])[0]
    assert 195 <= np.argmax(np.abs(model_window)) <= 215
    assert np.abs(windows[1] - windows[0]).max() < 0.01 * np.abs(windows[0]).max()
    assert FirstMotionPicker().predict(model_window[None, :, None]).argmax(axis=1).tolist() == [DOWN]
    # the published path is the original code's, offset included (its taper transient is the published input)
    published = preprocess_long((clean + offset)[None, :], np.array([p]))[0]
    assert np.abs(published - windows[0]).max() > 0.01 * np.abs(windows[0]).max()


def _sac_file(path, *, station, channel, ka=None, rng_seed=0):
    data = np.random.default_rng(rng_seed).normal(size=3000).astype(np.float32)
    trace = Trace(data, header={"network": "XX", "station": station, "channel": channel,
                                "starttime": UTCDateTime("2020-01-01T00:00:00"), "sampling_rate": 100.0})
    trace.stats.sac = {"b": 0.0, "o": 0.0, "kevnm": "ev1", "stla": 35.0, "stlo": 135.0}
    if ka is not None:
        trace.stats.sac.update({"a": 10.0, "ka": ka})
    trace.write(str(path), format="SAC")
    return path


def test_sac_polarity_codes_read_as_the_csv_and_quakeml_codes(tmp_path):
    """Issue 38 item 2: a SAC ``ka`` code's polarity letter means what the same letter means in a picks CSV or
    QuakeML (one table): K, N and ? are unknown, U / C / + up, D / - down; a blank letter gives no label."""
    codes = {"IPU0": UP, "EPC1": UP, "IP+0": UP, "IPD0": DOWN, "EP-2": DOWN, "IPK0": UNKNOWN, "EPN0": UNKNOWN,
             "IP?0": UNKNOWN}
    for i, code in enumerate([*codes, "IP 0"]):
        _sac_file(tmp_path / f"S{i:02d}.SAC", station=f"S{i:02d}", channel="HHZ", ka=code, rng_seed=i)
    reader = RecordingsReader([tmp_path], read_picks("sac:a"))
    meta = pd.concat([chunk.meta for chunk in reader.chunks()])
    got = dict(zip(meta["station_code"], meta["label"]))
    assert {f"S{i:02d}": label for i, label in enumerate(codes.values())} == got
    assert "S08" not in got  # the blank letter: no polarity given, skipped and listed


def test_a_seed_uvw_channel_is_not_taken_for_the_vertical(tmp_path):
    """Issue 38 item 3: Hi-net's bare ``U`` and any ``..Z`` are vertical; a SEED UVW channel ``HHU`` is not,
    unless the user says so with --component."""
    for station, channel in (("HIN", "U"), ("ZED", "HHZ"), ("UVW", "HHU")):
        _sac_file(tmp_path / f"{station}.SAC", station=station, channel=channel, ka="IPU0")
    reader = RecordingsReader([tmp_path], read_picks("sac:a"))
    stations = set(pd.concat([chunk.meta for chunk in reader.chunks()])["station_code"])
    assert stations == {"HIN", "ZED"}
    assert any("UVW" in path and "no vertical channel" in reason for path, reason in reader.skipped_at_scan)
    chosen = RecordingsReader([tmp_path / "UVW.SAC"], read_picks("sac:a"), component="HHU")
    assert set(pd.concat([chunk.meta for chunk in chosen.chunks()])["station_code"]) == {"UVW"}


def test_a_blank_network_code_reaches_skhash_as_a_blank_code_and_data_info_counts_the_stations(tmp_path):
    """Issue 38 (README walk): the Kumamoto SACs have no network code. The store keeps it blank; SKHASH's files
    must carry '--' (a blank is NaN to SKHASH, which then fails on 'expected str instance, float found'), and
    `attpd data info` counts 59 stations, not 0."""
    from attpd_bench.data.prepare import prepare_store
    from attpd_bench.focal.polarities import BLANK_CODE, match_codes

    reader = RecordingsReader([WAVEFORMS], read_picks(PICKS))
    store = prepare_store("kumamoto", None, tmp_path / "store", reader=reader)[0]
    codes = match_codes(store.metadata)
    assert (codes["network"] == BLANK_CODE).all() and codes.notna().all().all()
    assert store.summary()["stations"] == 59
    result = runner.invoke(app, ["data", "info", str(tmp_path / "store")])
    assert result.exit_code == 0 and "stations 59" in result.output, result.output[-800:]


def test_mechanisms_take_stationxml_for_a_store_as_predict_does(tmp_path):
    """Issue 38 (StationXML not everywhere): `mechanisms --stations stations.xml` said "--stations has no column
    'network'"; the store path reads StationXML (and CSV) with the reader predict uses, blank codes as '--'."""
    from attpd_bench.data.prepare import prepare_store
    from attpd_bench.focal import sites

    store = prepare_store("kumamoto", None, tmp_path / "store", reader=RecordingsReader([WAVEFORMS],
                                                                                         read_picks(PICKS)))[0]
    stationxml = _stationxml_from_sac(tmp_path / "stations.xml")
    (tmp_path / "origins.csv").write_text("event_id,time,latitude,longitude,depth\n"
                                          "J2016041507465204,2016-04-15T07:46:52.04,32.73,130.797,10.52\n")
    meta = store.metadata.drop(columns=["station_latitude_deg", "station_longitude_deg"], errors="ignore")
    geometry = sites.geometry(meta, stations=stationxml, catalog=tmp_path / "origins.csv", velocity_model="hinet")
    assert len(geometry.stations) == 59 and (geometry.stations["network"] == "--").all()
    assert geometry.stations["latitude"].between(30, 36).all()


def test_audit_reversals_takes_the_geometry_a_store_of_ones_own_recordings_needs(tmp_path, workdir):
    """Issue 38: `audit reversals` had no --catalog, so a store of one's own recordings (no origins) could not be
    audited. With --catalog and --velocity-model it gets past the geometry to the audit's own check (one event
    is too few to test a station)."""
    from attpd_bench.data.prepare import prepare_store

    store = prepare_store("kumamoto", None, tmp_path / "store", reader=RecordingsReader([WAVEFORMS],
                                                                                         read_picks(PICKS)))[0]
    (tmp_path / "origins.csv").write_text("event_id,time,latitude,longitude,depth\n"
                                          "J2016041507465204,2016-04-15T07:46:52.04,32.73,130.797,10.52\n")
    base = ["audit", "reversals", "--store", str(store.path), "--polarities", "analyst", "--out", "audit"]
    without = runner.invoke(app, base)
    assert without.exit_code == 1 and "--catalog" in without.output, without.output[-800:]
    given = runner.invoke(app, [*base, "--catalog", str(tmp_path / "origins.csv"), "--velocity-model", "hinet"])
    assert given.exit_code == 1 and "no station recorded 5 events" in given.output, given.output[-800:]
    assert not (workdir / "audit").exists()


@pytest.mark.slow
def test_predict_with_test_time_shifts_writes_the_mean_and_its_spread(stores, workdir):
    """Issue 37, item 3: `attpd predict --shifts 4` writes the mean probabilities over four shifted windows and
    their spread (`p_spread`) beside each polarity, and logs the shifts with the run."""
    store = stores[("pnw", "native")]
    result = runner.invoke(app, ["predict", "--model-uri", "first-motion", "--input", str(store.path), "--output",
                                 str(workdir / "shifted.csv"), "--shifts", "4", "--shift-samples", "5"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(workdir / "shifted.csv")
    assert len(table) == len(store) and table["p_spread"].between(0, 1).all()
    assert np.allclose(table[["p_up", "p_down", "p_unknown"]].sum(axis=1), 1)
    assert (table["p_spread"] > 0).any()  # the rule changes its mind on some onsets when the pick moves
    tracking.configure(None)
    run = MlflowClient().search_runs([MlflowClient().get_experiment_by_name("attpd/predict").experiment_id])[0]
    assert run.data.params["shifts"] == "4" and run.data.params["shift_samples"] == "5"
