"""The four models are the original ones, parameter for parameter; the attention kernels start independent."""

from __future__ import annotations

import numpy as np
import pytest

from attpd_bench.errors import ConfigError
from attpd_bench.models import ALIASES, build_model, model_spec

ORIGINAL = {"pd": (935_108, 30), "ross": (3_668_227, 32), "pp": (967_973, 50), "pd2d": (289_748, 72)}


@pytest.mark.parametrize("name", list(ORIGINAL))
def test_parameter_counts_and_layer_names(name):
    model = build_model(name)
    params, tensors = ORIGINAL[name]
    assert model.count_params() == params
    assert len(model.weights) == tensors
    names = {layer.name for layer in model.layers}
    assert {"input", "po"} <= names
    assert ("pk" in names) == (name == "pp")
    assert ("Atten" in names) == (name != "ross")
    assert model.get_layer("po").output.shape[-1] == 3


def test_original_names_are_aliases():
    assert ALIASES == {"bulid_pd_model": "pd", "cnn_ross": "ross", "bulid_pp_model": "pp", "pd_model": "pd2d"}
    assert build_model("bulid_pd_model").count_params() == ORIGINAL["pd"][0]
    assert model_spec("pd_model").input_shape == (400, 1, 1)


def test_unknown_model_and_hyperparameter():
    with pytest.raises(ConfigError, match="unknown model 'transformer'"):
        build_model("transformer")
    with pytest.raises(ConfigError, match="model 'ross' has no hyper-parameter attention_width"):
        build_model("ross", attention_width=10)


def test_tunable_hyperparameters_change_the_model():
    assert build_model("pd", attention_width=5).count_params() == ORIGINAL["pd"][0]  # width: no new weights
    assert build_model("pd", lstm_units=64).count_params() < ORIGINAL["pd"][0]
    assert build_model("pd", attention_units=16).get_layer("Atten").units == 16
    assert build_model("ross", dense_units=256).count_params() < ORIGINAL["ross"][0]


def _attention_kernels(model):
    weights = {w.path.split("/")[-1]: w.numpy() for w in model.get_layer("Atten").weights}
    return weights["Atten_Add_Wt"], weights["Atten_Add_Wx"], weights["Atten_Add_Wa"]


@pytest.mark.parametrize("name", ["pd", "pp", "pd2d"])
def test_attention_kernels_start_independent(name):
    wt, wx, wa = _attention_kernels(build_model(name))
    assert wt.shape == wx.shape
    assert not np.allclose(wt, wx)
    assert np.corrcoef(wt.ravel(), wx.ravel())[0, 1] < 0.2
    assert not np.allclose(wa[:, 0], wt[0, : wa.shape[0]])


def test_library_layer_really_shares_its_initializer():
    """Documents the defect the subclass fixes: the library's own layer starts Wt == Wx under Keras 3."""
    import keras
    from keras_self_attention import SeqSelfAttention

    inp = keras.Input((50, 8))
    layer = SeqSelfAttention(units=4)
    layer(inp)
    w = {v.path.split("/")[-1]: v.numpy() for v in layer.weights}
    wt = next(v for k, v in w.items() if k.endswith("Wt"))
    wx = next(v for k, v in w.items() if k.endswith("Wx"))
    np.testing.assert_array_equal(wt, wx)


def test_same_seed_same_initial_weights():
    import keras

    keras.utils.set_random_seed(3)
    a = [w.numpy() for w in build_model("pd").weights]
    keras.utils.set_random_seed(3)
    b = [w.numpy() for w in build_model("pd").weights]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", ["pd", "ross", "pp", "pd2d"])
def test_batch_normalization_momentum_is_the_originals_unless_set(name):
    import keras

    def momenta(model):
        return {layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}

    assert momenta(build_model(name)) == {0.99}  # Keras 2's default, which the original code used
    fast = build_model(name, bn_momentum=0.9)
    assert momenta(fast) == {0.9} and fast.count_params() == ORIGINAL[name][0]


def test_one_way_from_windows_to_probabilities_and_no_import_circle():
    """Issue 38, one way for each thing: sim_to_real no longer imports evaluate (the circle evaluate <->
    sim_to_real is gone), and model loading and "windows -> model -> probabilities" live with the models."""
    import subprocess
    import sys

    code = ("import sys, attpd_bench.sim_to_real, attpd_bench.predict; "
            "print('attpd_bench.evaluate' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
    from attpd_bench import evaluate, models, pipeline, predict, sim_to_real

    assert sim_to_real.load_model is models.load_model and evaluate.load_model is models.load_model
    assert predict.polarity_probabilities is models.polarity_probabilities
    assert pipeline.polarity_probabilities is models.polarity_probabilities
    assert not hasattr(sim_to_real, "probabilities")  # its own copy is gone


def test_a_deep_ensemble_is_one_keras_model_of_the_mean_probability(tmp_path):
    """Issue 36 item 4: the mean of the members' probabilities, saved as one .keras file that
    models.load_model reads back (so usable wherever a model URI is) with the same outputs."""
    from attpd_bench.models import build_model, load_model, polarity_probabilities
    from attpd_bench.models.ensemble import deep_ensemble

    members = [build_model("ross", dense_units=8) for _ in range(2)]
    for k, member in enumerate(members):  # two different members
        kernel, bias = member.get_layer("po").get_weights()
        member.get_layer("po").set_weights([kernel, np.array([2.0 * k, 0.0, 1.0], dtype=bias.dtype)])
    stored = np.random.default_rng(0).normal(size=(5, 600)).astype(np.float32)
    expected = np.mean([polarity_probabilities(m, stored) for m in members], axis=0)
    ensemble = deep_ensemble(members)
    assert np.allclose(polarity_probabilities(ensemble, stored), expected, atol=1e-5)
    ensemble.save(tmp_path / "ensemble.keras")
    again = load_model(str(tmp_path / "ensemble.keras"))
    assert np.allclose(polarity_probabilities(again, stored), expected, atol=1e-5)
    assert again.output_names == ["po"] or again.layers[-1].name == "po"


def test_a_keras_2_file_of_the_original_code_points_to_import_h5(tmp_path):
    """Issue 38 (messages): `evaluate --model-uri pd_model_scsn.h5` (a Keras 2 file of the original code) failed
    on LSTM's 'time_major' with no pointer; the one-line error names `attpd import-h5`."""
    import json

    import h5py

    from attpd_bench.errors import DataError
    from attpd_bench.models import build_model, load_model

    path = tmp_path / "pd_model_scsn.h5"
    build_model("pd").save(path)
    with h5py.File(path, "r+") as h5:  # what Keras 2 wrote: LSTM with its time_major argument
        config = json.loads(h5.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "LSTM":
                layer["config"]["time_major"] = False
        h5.attrs["model_config"] = json.dumps(config)
    with pytest.raises(DataError, match="attpd import-h5"):
        load_model(str(path))


# ------------------------------------------------------------------------------------------ the field's pickers
# cfm: Messuti et al. (2023), the authors' Keras summary; eqpolarity: Chen et al. (2024), the layer sizes of the
# authors' code (the paper gives no count)
PUBLISHED = {"cfm": 410_981, "eqpolarity": 3_086_401}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_pickers_have_their_published_parameter_counts(name):
    assert build_model(name).count_params() == PUBLISHED[name]


def test_each_model_cuts_its_own_window_from_the_same_stored_traces():
    """Issue 37: a model declares its window once (InputConvention); the suite cuts it around the stored P, so
    a 160-sample picker and the 400-sample originals read the same onset at their own P index."""
    from attpd_bench.models import convention_of, polarity_probabilities

    stored = np.zeros((2, 600), dtype=np.float32)
    stored[:, 300:310] = [[1.0], [-1.0]]  # the onset at the stored P (sample 300), up then down
    for name, (samples, p_index) in {"pd": (400, 200), "cfm": (160, 80)}.items():
        convention = model_spec(name).convention
        assert (convention.samples, convention.p_index) == (samples, p_index)
        windows = convention.windows(stored)
        assert windows.shape == (2, samples) and windows[0, p_index] == 1.0 and windows[1, p_index] == -1.0
        assert convention_of(build_model(name)) == convention
    assert model_spec("cfm").convention.max_shift == 220
    probabilities = polarity_probabilities(build_model("cfm"), stored)
    assert probabilities.shape == (2, 3) and np.allclose(probabilities.sum(axis=1), 1)


def test_a_two_class_picker_abstains_inside_its_band_only():
    """Issue 37, item 2: a binary picker's p(up) is (p, 1-p, 0) outside the band around 0.5 and (0, 0, 1) inside;
    while training the band is off (its loss is the authors' binary cross-entropy)."""
    from attpd_bench.models.band import PolarityBand

    band = PolarityBand(0.2)
    up = np.array([[0.95], [0.6], [0.35], [0.1]], dtype=np.float32)
    np.testing.assert_allclose(np.asarray(band(up)), [[0.95, 0.05, 0], [0, 0, 1], [0, 0, 1], [0.1, 0.9, 0]],
                               atol=1e-6)
    np.testing.assert_allclose(np.asarray(band(up, training=True))[:, 2], 0)
    with pytest.raises(ValueError, match="band"):
        PolarityBand(0.5)


def test_a_picker_that_reads_the_whole_stored_window_refuses_a_time_shift_and_round_trips(tmp_path):
    """EQPolarity reads all 600 stored samples (P at 300): no shift fits, so --time-shift is refused before a run;
    saved and loaded (its stochastic depth and band layers included), it predicts the same."""
    from attpd_bench.models import load_model
    from attpd_bench.settings import TrainConfig

    assert model_spec("eqpolarity").convention.max_shift == 0
    with pytest.raises(ConfigError, match="--time-shift 5 moves eqpolarity's 600-sample window"):
        TrainConfig(model="eqpolarity", time_shift=5).resolved()
    model = build_model("eqpolarity", band=0.1)
    model.save(tmp_path / "eqpolarity.keras")
    x = np.random.default_rng(0).standard_normal((4, 600, 1)).astype(np.float32)
    np.testing.assert_allclose(load_model(str(tmp_path / "eqpolarity.keras")).predict(x, verbose=0),
                               model.predict(x, verbose=0), atol=1e-6)


def test_test_time_shifts_average_the_shifted_windows_and_keep_their_spread():
    """Issue 37, item 3: the mean over K randomly shifted windows and the spread of p(up) - p(down); no shift
    gives the plain probabilities and no spread; a shift the window cannot take is refused naming the option."""
    from attpd_bench.models import WindowShifts, polarity_probabilities, shifted_probabilities

    rng = np.random.default_rng(3)
    stored = rng.standard_normal((6, 600)).astype(np.float32)
    model = build_model("cfm")
    plain = polarity_probabilities(model, stored)
    mean, spread = shifted_probabilities(model, stored, WindowShifts(3, 0))
    np.testing.assert_allclose(mean, plain, atol=1e-6)
    np.testing.assert_allclose(spread, 0, atol=1e-6)
    mean, spread = shifted_probabilities(model, stored, WindowShifts(4, 50, seed=1))
    assert mean.shape == (6, 3) and np.allclose(mean.sum(axis=1), 1) and spread.shape == (6,)
    assert (spread > 0).all() and (spread <= 1).all()
    again = shifted_probabilities(model, stored, WindowShifts(4, 50, seed=1))
    np.testing.assert_array_equal(again[1], spread)  # the seed fixes the shifts
    with pytest.raises(ConfigError, match="--shift-samples 1 moves the model's 600-sample window"):
        shifted_probabilities(build_model("eqpolarity"), stored, WindowShifts(2, 1))
