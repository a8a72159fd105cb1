"""The synthetic regions: radiation physics, determinism, per-region differences, the truth table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from attpd_bench.data.synth import PROFILES, make_catalogue, p_radiation, write_region


def test_radiation_pattern_known_values():
    # vertical strike-slip (strike 0, dip 90, rake 0): F = sin^2(i) sin(2 az); maximum at az 45, horizontal ray
    assert p_radiation(0, 90, 0, 45, 90) == pytest.approx(1.0)
    assert p_radiation(0, 90, 0, 135, 90) == pytest.approx(-1.0)
    assert abs(p_radiation(0, 90, 0, 0, 90)) < 1e-12  # nodal plane
    # 45-degree thrust: straight down is compressional, a pure normal fault dilatational
    assert p_radiation(0, 45, 90, 0, 0) == pytest.approx(1.0)
    assert p_radiation(0, 45, -90, 0, 0) == pytest.approx(-1.0)


def test_catalogue_physics_and_balance():
    cat = make_catalogue(PROFILES["ins"], 300, np.random.default_rng(0))
    share = np.bincount(cat["analyst_label"], minlength=3) / len(cat)
    assert share[2] > 0.65 and share[0] > share[1]  # INSTANCE: mostly undecidable, more up than down
    decided = cat[(cat["analyst_label"] < 2) & ~cat["label_error"]]
    recorded_up = decided["recorded_sign"] > 0
    assert ((decided["analyst_label"] == 0) == recorded_up).all()
    # near-nodal stations are (almost) never called up/down
    nodal = cat[np.abs(cat["radiation_amplitude"]) < 0.02]
    assert (nodal["analyst_label"] == 2).mean() > 0.9
    pnw = make_catalogue(PROFILES["pnw"], 300, np.random.default_rng(0))
    assert (np.bincount(pnw["analyst_label"], minlength=3) / len(pnw))[2] < 0.5


def test_synth_is_deterministic(tmp_path):
    a = write_region("hinet", 4, tmp_path / "a", seed=9)
    b = write_region("hinet", 4, tmp_path / "b", seed=9)
    c = write_region("hinet", 4, tmp_path / "c", seed=10)
    pd.testing.assert_frame_equal(a, b)
    assert not a["source_latitude_deg"].equals(c["source_latitude_deg"])
    assert (tmp_path / "a" / "HINET_Polarity_15_19.hdf5").read_bytes() == \
        (tmp_path / "b" / "HINET_Polarity_15_19.hdf5").read_bytes()


def test_truth_table_columns(raw_regions):
    truth = pd.read_csv(raw_regions[("pnw", "native")] / "truth.csv")
    for col in ("event_id", "strike", "dip", "rake", "azimuth_deg", "takeoff_deg", "radiation_amplitude",
                "true_sign", "station_reversed", "analyst_label", "snr_db", "source_latitude_deg",
                "station_latitude_deg"):
        assert col in truth, col
    assert set(truth["true_sign"]) <= {-1, 1}


def test_reversed_station_flips_the_recording():
    profile = dataclasses.replace(PROFILES["pnw"], reversed_station_rate=0.2)
    cat = make_catalogue(profile, 50, np.random.default_rng(1))
    rev = cat[cat["reversed"]]
    assert len(rev) > 0 and (rev["recorded_sign"] == -rev["true_sign"]).all()


def test_scsn_train_file_is_balanced_but_not_starved(tmp_path):
    """Ross et al.'s train file is class-balanced and about as large as the test file (2.49 M vs 2.35 M)."""
    truth = write_region("scsn", 60, tmp_path, seed=5)
    written = truth[truth["written"]]
    sizes = written["file"].value_counts()
    assert 0.6 <= sizes["train"] / sizes["test"] <= 1.6, sizes.to_dict()
    train_counts = written.loc[written["file"] == "train", "analyst_label"].value_counts()
    assert train_counts.min() == train_counts.max()


def test_synthetic_networks_have_their_real_networks_station_spacing():
    """Issue 20 item 14: each region's network is laid out at the real network's spacing (Hi-net ~20 km, SCSN ~20,
    INSTANCE's IV ~27, PNSN ~38), which decides how many events pass SKHASH's azimuthal-gap gates."""
    from scipy.spatial import cKDTree

    from attpd_bench.data.synth import KM_PER_DEG, make_network

    cited = {"ins": 27.0, "hinet": 20.0, "scsn": 20.0, "pnw": 38.0}
    for region, spacing in cited.items():
        profile = PROFILES[region]
        assert profile.station_spacing_km == spacing
        st = make_network(profile, np.random.default_rng(0))
        xy = np.c_[st["station_longitude_deg"] * KM_PER_DEG * np.cos(np.radians(np.mean(profile.lat))),
                   st["station_latitude_deg"] * KM_PER_DEG]
        distance, _ = cKDTree(xy).query(xy, k=2)
        area = len(st) * spacing ** 2
        box = np.ptp(xy[:, 0]) * np.ptp(xy[:, 1])
        assert 0.8 < area / box < 1.25, region  # as many stations as the spacing puts in the box
        assert 0.55 * spacing < np.median(distance[:, 1]) < 1.05 * spacing, region


# ------------------------------------------------------------------------------------------ the analyst (issue 36)
def _onsets(clarity: np.ndarray, sign: int) -> pd.DataFrame:
    return pd.DataFrame({"recorded_sign": np.full(len(clarity), sign), "clarity": clarity})


def test_the_analyst_reads_an_up_and_a_down_of_equal_clarity_alike():
    """One reading model for both signs: P(read) of an up equals that of a down of the same clarity, and the
    realised rates agree within binomial noise on 20,000 onsets per sign (the old analyst needed clarity 175 for
    an INS up and 63 for a down)."""
    from attpd_bench.data.synth import ANALYST_CLARITY_50, _analyst, read_probability

    clarity = np.exp(np.random.default_rng(0).uniform(np.log(0.5), np.log(20), 20_000))
    assert read_probability(ANALYST_CLARITY_50) == pytest.approx(0.5)
    assert np.all(np.diff(read_probability(np.sort(clarity))) >= 0)  # rises with clarity
    profile = dataclasses.replace(PROFILES["ins"], label_error_rate=0.0, unread_share=0.0)
    rates = []
    for sign in (1, -1):
        cat = _onsets(clarity, sign)
        _analyst(cat, profile, np.random.default_rng(sign + 5))
        read = cat["analyst_label"].to_numpy() < 2
        assert (cat.loc[read, "analyst_label"] == (0 if sign > 0 else 1)).all()
        for lo, hi in ((1, 2), (2, 4), (4, 8)):
            inside = (clarity >= lo) & (clarity < hi)
            rates.append(read[inside].mean())
    up, down = np.array(rates[:3]), np.array(rates[3:])
    assert np.abs(up - down).max() < 0.04, (up, down)
    assert up[0] < 0.5 < up[2]


def test_not_read_does_not_depend_on_the_waveform():
    """The same draw gives the same unread picks whatever their onsets: the clearest and the most buried onsets
    of one catalogue are left unread at the same places, at the profile's share."""
    from attpd_bench.data.synth import UNREAD, _analyst

    profile = PROFILES["scsn"]
    masks = []
    for clarity in (np.full(5000, 500.0), np.full(5000, 0.5), np.random.default_rng(2).uniform(0, 50, 5000)):
        cat = _onsets(clarity, 1)
        _analyst(cat, profile, np.random.default_rng(3))
        masks.append((cat["unknown_cause"] == UNREAD).to_numpy())
        assert (cat.loc[masks[-1], "analyst_label"] == 2).all()
    assert (masks[0] == masks[1]).all() and (masks[0] == masks[2]).all()
    assert masks[0].mean() == pytest.approx(profile.unread_share, abs=0.02)


def test_published_unknown_shares_are_met_through_the_two_processes():
    """REFERENCE.md: unknown 79.6 % (INSTANCE), 63.3 % (SCSN test), 41.3 % (PNW), Hi-net private (52 % assumed),
    reached within 0.05 on another seed than the one unread_share was set on; the truth says which process
    made each unknown and both contribute."""
    from attpd_bench.data.synth import UNCLEAR, UNREAD

    published = {"ins": 0.796, "hinet": 0.52, "scsn": 0.633, "pnw": 0.413}
    for region, share in published.items():
        cat = make_catalogue(PROFILES[region], 80, np.random.default_rng(11))
        unknown = cat["analyst_label"] == 2
        assert abs(unknown.mean() - share) < 0.05, (region, unknown.mean())
        causes = cat.loc[unknown, "unknown_cause"]
        assert (causes == UNREAD).any() and (causes == UNCLEAR).any()
        assert (cat.loc[~unknown, "unknown_cause"] == "").all()


def test_refracted_first_arrivals_spread_faster_than_one_over_r():
    """Beyond the crossover distance (a down-going first arrival) the amplitude falls faster than 1/r; direct
    waves keep 1/r; and the free-surface factor is 2 at vertical incidence, less at oblique incidence."""
    from attpd_bench.data.synth import free_surface_vertical, geometric_spreading

    r = np.array([20.0, 40.0, 80.0, 160.0])
    direct = geometric_spreading(r, 30.0, 2.0, np.zeros(4, dtype=bool)) * r * 1000
    assert np.allclose(direct, 1.0)
    refracted = geometric_spreading(r[1:], 30.0, 1.5, np.ones(3, dtype=bool)) * r[1:] * 1000
    assert np.all(np.diff(refracted) < 0) and refracted[0] < 1.0
    assert free_surface_vertical(0.0, 3.0) == pytest.approx(2.0)
    assert 0 < free_surface_vertical(0.25, 3.0) < free_surface_vertical(0.1, 3.0) < 2.0
    cat = make_catalogue(PROFILES["scsn"], 60, np.random.default_rng(4))
    beyond = cat["takeoff_deg"] < 90
    assert beyond.any() and (~beyond).any()
    hypo = np.hypot(cat["distance_km"], cat["source_depth_km"])
    assert np.allclose(cat.loc[~beyond, "spreading_per_km"] * hypo[~beyond] * 1000, 1.0)
    far = beyond & (hypo > 2 * np.hypot(cat["crossover_km"], cat["source_depth_km"]))
    assert far.any() and (cat.loc[far, "spreading_per_km"] * hypo[far] * 1000 < 0.71).all()


def test_an_interrupted_synth_leaves_nothing_behind(tmp_path):
    """Issue 38 (interrupts): Ctrl-C in `attpd data synth` left a folder holding only a part-written HDF5 file,
    which the rerun then refused ("exists and is not a synthetic region"). The folder it created is removed; a
    folder the user had is left as it was."""
    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_region("hinet", 3, tmp_path / "new", seed=1, on_batch=interrupt)
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    with pytest.raises(KeyboardInterrupt):
        write_region("hinet", 3, tmp_path / "mine", seed=1, on_batch=interrupt)
    assert (tmp_path / "mine").is_dir() and not any((tmp_path / "mine").iterdir())
    truth = write_region("hinet", 3, tmp_path / "new", seed=1)  # the rerun works
    assert len(truth) > 0
