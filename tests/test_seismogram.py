"""The physics of the synthetic seismograms (issue 18): source, path, noise, causality, sign, SNR."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import signal

from attpd_bench.data import seismogram as sg
from attpd_bench.data.preprocess import SAMPLING_RATE_HZ, model_windows, preprocess_long
from attpd_bench.data.synth import PROFILES, make_catalogue, make_waveforms, ruptures
from attpd_bench.models.first_motion import FirstMotionPicker


def test_corner_frequency_falls_with_magnitude_as_brune_and_madariaga():
    mags = np.array([1.0, 2.0, 3.0, 4.0])
    fc = sg.corner_frequency(mags, 3e6, 3500.0)
    assert np.all(np.diff(fc) < 0)
    assert fc[1] == pytest.approx(20.0, rel=0.05) and fc[3] == pytest.approx(2.0, rel=0.05)  # REFERENCE.md values
    assert fc[0] / fc[1] == pytest.approx(10 ** 0.5)  # fc ~ M0^(-1/3) = 10^(-Mw/2)


def test_large_events_rupture_as_composite_sources_that_start_small():
    """Zeng et al. (1994) composite source: a small event is one Brune pulse; a large one many subevents whose
    moments add up to M0, starting with the nucleation patch at the hypocentre, over a rupture time ~ R / Vr."""
    rng = np.random.default_rng(0)
    small = sg.composite_rupture(rng, magnitude=1.5, stress_drop_pa=4e6, beta_m_s=3500.0)
    assert len(small.share) == 1 and small.fc_hz[0] == pytest.approx(sg.corner_frequency(1.5, 4e6, 3500.0))
    durations = []
    for magnitude in (3.5, 4.0, 4.5):
        big = sg.composite_rupture(rng, magnitude=magnitude, stress_drop_pa=4e6, beta_m_s=3500.0)
        assert len(big.share) > 20 and big.share.sum() == pytest.approx(1.0)
        assert big.start_s[0] == 0 and (big.start_s[1:] > 0).all()
        assert big.share[0] == big.share.min() and big.fc_hz[0] == big.fc_hz.max()
        radius = sg.source_radius(magnitude, 4e6)
        assert big.start_s.max() <= 1.7 * radius / (sg.RUPTURE_SPEED * 3500.0) + 1e-9
        durations.append(np.percentile(big.start_s, 90))
        f = np.array([0.0, 0.01])
        assert abs(big.spectrum(f)[0]) == pytest.approx(1.0)  # the moment is kept
    assert np.all(np.diff(durations) > 0)


def test_a_large_events_first_motion_is_a_small_pulse_of_the_radiation_sign():
    """The nucleation phase (Ellsworth & Beroza 1995): an M4.5's recorded first lobe has the radiation's sign and
    is a fraction of the swings that follow; an M1.5's first lobe is its peak."""
    f = np.fft.rfftfreq(sg.PULSE_SAMPLES, 1 / SAMPLING_RATE_HZ)
    first_lobes = {}
    for magnitude in (1.5, 4.5):
        rupture = sg.composite_rupture(np.random.default_rng(1), magnitude=magnitude, stress_drop_pa=4e6,
                                       beta_m_s=3500.0)
        spec = sg.velocity_pulse_spectrum(source=rupture.spectrum(f)[None, :], tstar_s=np.array([0.02]),
                                          instrument_response=sg.instrument_responses(f, np.array([True])),
                                          n_fft=sg.PULSE_SAMPLES)
        pulse = np.fft.irfft(spec, n=sg.PULSE_SAMPLES)[0]
        onset = np.argmax(np.abs(pulse) > 1e-3 * np.abs(pulse).max())
        assert pulse[onset] > 0  # a positive radiation (compression) moves the ground up first
        end = onset + np.argmax(pulse[onset:] < 0)
        first_lobes[magnitude] = pulse[onset:end].max() / np.abs(pulse).max()
    assert first_lobes[1.5] == pytest.approx(1.0) and first_lobes[4.5] < 0.5


def test_amplitude_falls_with_distance_and_rises_with_magnitude():
    """Within one event the far-field amplitude, site and free-surface factors aside, falls with hypocentral
    distance (as 1/r for direct waves, faster for refracted ones); across events it scales with the seismic
    moment (x 10^1.5 per magnitude unit)."""
    cat = make_catalogue(PROFILES["scsn"], 200, np.random.default_rng(3))
    hypo = np.hypot(cat["distance_km"], cat["source_depth_km"])
    path = cat["omega0_m_s"] / (cat["site_amplification"] * cat["free_surface_factor"])
    for _, event in cat.assign(hypo=hypo, path=path).groupby("event"):
        order = np.argsort(event["hypo"].to_numpy())
        assert np.all(np.diff(event["path"].to_numpy()[order]) <= 1e-12 * event["path"].max())
    direct = cat["takeoff_deg"] > 90
    scaled = (path * hypo / sg.seismic_moment(cat["magnitude"]))[direct]  # 1 / (4 pi rho vp^3): source depth only
    assert scaled.max() / scaled.min() < 3
    small, large = cat["magnitude"] < 1.5, cat["magnitude"] > 2.5
    assert cat.loc[large, "omega0_m_s"].median() > 10 * cat.loc[small, "omega0_m_s"].median()
    assert (cat["tstar_s"] > PROFILES["scsn"].kappa_s).all()


def test_noise_spectrum_lies_between_peterson_models():
    from obspy.signal.spectral_estimation import get_nhnm, get_nlnm

    n = 2 ** 15
    freqs = np.fft.rfftfreq(n, 1 / SAMPLING_RATE_HZ)
    levels = np.array([0.0, 0.5, 1.0])
    x = sg.coloured_noise(np.random.default_rng(0), sg.noise_velocity_psd(freqs, levels), n)
    f, pxx = signal.welch(x, fs=SAMPLING_RATE_HZ, nperseg=2048, axis=-1)
    band = (f >= 1.0) & (f <= 9.0)
    velocity_db = 10 * np.log10(pxx[:, band])
    to_velocity = 20 * np.log10(1 / f[band] / (2 * np.pi))
    low = np.interp(np.log10(1 / f[band]), np.log10(get_nlnm()[0][::-1]), get_nlnm()[1][::-1]) + to_velocity
    high = np.interp(np.log10(1 / f[band]), np.log10(get_nhnm()[0][::-1]), get_nhnm()[1][::-1]) + to_velocity
    assert np.median(np.abs(velocity_db[0] - low)) < 1.5  # level 0 is the NLNM
    assert np.median(np.abs(velocity_db[2] - high)) < 1.5  # level 1 the NHNM
    assert np.all(velocity_db[1] > low - 2) and np.all(velocity_db[1] < high + 2)
    assert np.median(velocity_db[1] - low) > 20 and np.median(high - velocity_db[1]) > 20


def test_recorded_signal_is_causal_and_its_first_motion_has_the_radiation_sign():
    """Noise-free records: nothing before the onset (minimum-phase attenuation, causal sensor); the first lobe
    has the sign of the radiation pattern, and the opposite on a reversed station."""
    profile = dataclasses.replace(PROFILES["pnw"], reversed_station_rate=0.3)
    cat = make_catalogue(profile, 30, np.random.default_rng(4))
    cat = cat[np.abs(cat["radiation_amplitude"]) > 0.2].head(120).copy()
    cat["trace_samples"] = 3000
    cat["onset_sample"] = 1000
    greens = sg.GreensFunction(
        radiation=cat["radiation_amplitude"].to_numpy(), coda_level=np.zeros(len(cat)), rise_s=np.ones(len(cat)),
        decay_s=2.0, reverb_level=np.zeros(len(cat)), ghost_delay_s=None, s_delay_s=np.full(len(cat), 99.0),
        s_level=np.zeros(len(cat)), polarity=np.where(cat["reversed"], -1.0, 1.0))
    x = sg.p_seismogram(np.random.default_rng(0), greens=greens, omega0_m_s=cat["omega0_m_s"].to_numpy(),
                        ruptures=ruptures(cat), events=cat["event"].to_numpy(), tstar_s=cat["tstar_s"].to_numpy(),
                        short_period=cat["short_period"].to_numpy(), onset=cat["onset_sample"].to_numpy(),
                        n_samples=3000)
    peak = np.abs(x).max(axis=1)
    assert np.all(np.abs(x[:, :995]).max(axis=1) < 0.02 * peak)  # only sampling's Gibbs ringing before P
    # the first motion: the first sample after the onset above 1 % of the peak (a large event's nucleation
    # pulse is a few per cent of it; sampling's ringing stays below)
    first = x[:, 1000:1100]
    sign = np.sign(first[np.arange(len(first)), np.argmax(np.abs(first) > 0.01 * peak[:, None], axis=1)])
    assert (sign == cat["recorded_sign"].to_numpy()).all()
    rev = cat["reversed"].to_numpy()
    assert rev.any() and (sign[rev] == -cat["true_sign"].to_numpy()[rev]).all()


def test_snr_follows_magnitude_and_distance_with_both_ends_present():
    cat = make_catalogue(PROFILES["ins"], 300, np.random.default_rng(5))
    near, far = cat["distance_km"] < 20, cat["distance_km"] > 80
    assert cat.loc[near, "snr_db"].median() > cat.loc[far, "snr_db"].median() + 10
    assert (cat["snr_db"] > 40).mean() > 0.1 and (cat["snr_db"] < 15).mean() > 0.05
    assert cat["snr_db"].min() >= 6.0 - 1e-9 or (cat.groupby("event")["distance_km"].transform("min")
                                                 == cat["distance_km"])[cat["snr_db"] < 6].all()
    big = cat["magnitude"] > 3
    assert cat.loc[big, "snr_db"].median() > cat.loc[~big, "snr_db"].median()
    # attenuation takes part (issue 38: without t* the asserts above still passed): the same source's first
    # motion per unit amplitude is smaller and its pulse broader through the t* of a far station
    event = int(cat["event"].iloc[0])
    first_lobe, peak, l2 = sg.pulse_measures(ruptures=ruptures(cat[cat["event"] == event]), events=np.array([event] * 2),
                                             tstar_s=np.array([0.01, 0.1]), short_period=np.array([False, False]))
    assert first_lobe[1] < 0.5 * first_lobe[0] and peak[1] < peak[0]


def test_synthetic_window_looks_like_a_real_onset():
    """A clear synthetic window: quiet before P, a first motion smaller than the later P coda's peaks."""
    cat = make_catalogue(PROFILES["hinet"], 20, np.random.default_rng(6))
    cat = cat[cat["trace_samples"] == cat["trace_samples"].iloc[0]].head(200)
    windows = model_windows(preprocess_long(make_waveforms(cat, PROFILES["hinet"], np.random.default_rng(1))[:, 2],
                                            cat["p_pick_sample"].to_numpy()))
    pre = np.abs(windows[:, 100:195]).max(axis=1)
    assert np.median(pre) < 0.1
    onset = 200 + (cat["onset_sample"] - cat["p_pick_sample"]).to_numpy()
    first = np.array([np.abs(w[o:o + 8]).max() for w, o in zip(windows, onset)])
    assert np.median(first) < 0.8  # the window's peak is usually later than the first motion


def test_first_motion_baseline_reads_sign_and_abstains_on_noise():
    rng = np.random.default_rng(0)
    t = np.arange(400)
    pulse = np.where(t >= 200, np.sin(2 * np.pi * (t - 200) / 20) * np.exp(-(t - 200) / 30), 0.0)
    noise = rng.normal(0, 0.01, (3, 400))
    x = np.stack([pulse, -pulse, np.zeros(400)]) + noise
    x[2] = rng.normal(0, 1, 400)  # noise only
    probs = FirstMotionPicker().predict(x[..., None])
    assert probs.shape == (3, 3) and np.allclose(probs.sum(axis=1), 1)
    assert probs.argmax(axis=1).tolist() == [0, 1, 2]
    assert probs[0, 0] > 0.9 and probs[1, 1] > 0.9


def test_first_motion_baseline_through_evaluate_and_transfer(stores, workdir):
    """`first-motion` is a model wherever a model URI is taken: evaluate scores it like any model, and a
    transfer row of it needs no training (the same scores from every source)."""
    from attpd_bench.evaluate import evaluate_model
    from attpd_bench.models import load_model
    from attpd_bench.train import TrainConfig
    from attpd_bench.transfer import run_transfer

    store = stores[("hinet", "native")]
    evaluation = evaluate_model(load_model("first-motion"), store, "test", n_boot=50)
    assert evaluation.report["sign_accuracy"] > 0.85 and evaluation.report["sign_coverage"] > 0.5
    result = run_transfer(["first-motion"], {"hinet": store, "pnw": stores[("pnw", "native")]},
                          TrainConfig(epochs=1), n_boot=20)
    matrix = result.matrices["first-motion"]["macro_f1"]
    assert (matrix.loc["hinet"] == matrix.loc["pnw"]).all() and result.training_runs[("first-motion", "hinet")] == ""


def test_evaluate_prints_accuracy_by_snr_bin(stores, workdir):
    """Issue 23, item 7: the README says `attpd evaluate` prints accuracy by SNR bin; it does (INSTANCE carries
    an SNR per trace)."""
    from typer.testing import CliRunner

    from attpd_bench.cli import app

    store = stores[("ins", "native")]
    result = CliRunner().invoke(app, ["evaluate", "--model-uri", "first-motion", "--store", str(store.path),
                                      "--n-boot", "20"])
    assert result.exit_code == 0, result.output
    assert "accuracy by SNR" in result.output and "[30, inf)" in result.output


def test_first_motion_reads_from_two_samples_before_p_and_abstains_below_clarity_two():
    """Issue 38 (tests that assert too little): a short first lobe starting 2 samples before P, then a large
    opposite swing, is read with the lobe's sign (a P_INDEX 4 samples late or a search window starting at P reads
    the swing instead); a spike 4 samples before P is not noise; clarity 2 is the boundary: an onset at 2.05
    times the noise is read (P = 1 - 1/2.05), one at 1.95 is not."""
    x = np.zeros((4, 400))
    x[:, 100] = 0.1  # the noise: one sample of 0.1 in the second before P
    x[0, 198:200], x[0, 200:215] = 0.3, -1.0  # up for two samples, then the larger down swing
    x[1] = -x[0]
    x[1, 100] = 0.1
    x[2, 196], x[2, 198:200], x[2, 200:215] = 0.15, 0.3, -1.0  # and a bump at P-4: not noise, not the onset
    x[3, 200:205] = 0.195  # just below clarity 2 (and below the onset threshold): abstains
    probs = FirstMotionPicker().predict(x[..., None])
    assert probs.argmax(axis=1).tolist() == [0, 1, 0, 2]
    edge = np.zeros((2, 400))
    edge[:, 100] = 0.1
    edge[0, 200:205], edge[1, 200:205] = 0.205, -0.205
    edge[:, 300] = 1.0  # the window's peak far after P, so the onset threshold is twice the noise
    probs = FirstMotionPicker().predict(edge[..., None])
    assert probs[0, 0] == pytest.approx(1 - 1 / 2.05, abs=1e-4) and probs[1, 1] == pytest.approx(1 - 1 / 2.05, abs=1e-4)


def test_max_subevents_is_a_bound():
    """Issue 36 item 3: MAX_SUBEVENTS bounds the subevents of any event the catalogues draw (up to Mw 5, at the
    lowest stress drops the log-normal gives)."""
    for seed in range(5):
        rupture = sg.composite_rupture(np.random.default_rng(seed), magnitude=5.0, stress_drop_pa=0.3e6,
                                       beta_m_s=3500.0)
        assert 1 < len(rupture.share) <= sg.MAX_SUBEVENTS and rupture.share.sum() == pytest.approx(1.0)
