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
