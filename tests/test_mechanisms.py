"""Focal-mechanism geometry: the Kagan angle on the trivial cases and against SKHASH's own mech_rotation."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from attpd_bench.focal.mechanism import auxiliary_plane, fault_vectors, kagan_angle, plane_from_vectors


def _random_mechanisms(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 360, n), rng.uniform(1, 89, n), rng.uniform(-179, 179, n)


def test_identical_and_auxiliary_plane_mechanisms_are_0_degrees_apart():
    mechanisms = _random_mechanisms(500, 0)
    assert kagan_angle(mechanisms, mechanisms).max() < 1e-3
    auxiliary = auxiliary_plane(*mechanisms)
    assert kagan_angle(mechanisms, auxiliary).max() < 1e-3
    np.testing.assert_allclose(auxiliary_plane(*auxiliary)[1], mechanisms[1], atol=1e-9)  # and back
    assert [round(float(v), 6) for v in np.ravel(auxiliary_plane(0, 45, 90))] == [180, 45, 90]  # a thrust


def test_rotations_and_bounds():
    assert kagan_angle((0, 90, 0), (30, 90, 0))[0] == pytest.approx(30)  # a half turn about B is a symmetry:
    assert kagan_angle((0, 90, 0), (150, 90, 0))[0] == pytest.approx(30)  # 150 deg = 30 deg
    assert kagan_angle((0, 45, 90), (0, 45, -90))[0] == pytest.approx(90)  # thrust vs normal: P and T swapped
    a, b = _random_mechanisms(2000, 1), _random_mechanisms(2000, 2)
    angles = kagan_angle(a, b)
    assert angles.max() <= 120 + 1e-6 and np.allclose(angles, kagan_angle(b, a))


def test_strike_dip_rake_survive_the_round_trip_through_vectors():
    s, d, r = _random_mechanisms(500, 3)
    s2, d2, r2 = plane_from_vectors(*fault_vectors(s, d, r))
    np.testing.assert_allclose(np.c_[s2, d2, r2], np.c_[s, d, r], atol=1e-9)


@pytest.mark.slow
def test_kagan_angle_agrees_with_skhash_mech_rotation():
    """SKHASH 1.1.5, run in its own environment (it pins numpy<2), on 300 random pairs."""
    from attpd_bench.focal import skhash

    a, b = _random_mechanisms(300, 4), _random_mechanisms(300, 5)
    script = """
import json, sys
import numpy as np
from SKHASH.functions.fun import mech_rotation, vector_from_sdr
a, b = json.load(sys.stdin)
out = []
for sa, da, ra, sb, db, rb in zip(*a, *b):
    n1, s1 = vector_from_sdr(*np.radians([sa, da, ra]))
    n2, s2 = vector_from_sdr(*np.radians([sb, db, rb]))
    out.append(float(mech_rotation(n1, n2[:, None], s1, s2[:, None])[0][0]))
print(json.dumps(out))
"""
    result = subprocess.run([str(skhash.python()), "-c", script], input=json.dumps(
        [[list(map(float, v)) for v in a], [list(map(float, v)) for v in b]]), capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    theirs = np.array(json.loads(result.stdout))
    np.testing.assert_allclose(kagan_angle(a, b), theirs, atol=0.01)


@pytest.mark.slow
def test_fault_vectors_are_skhash_vector_from_sdr():
    """Issue 20, item 12: the Kagan angle is blind to a frame change applied to both mechanisms (north-east-down
    vs east-north-up, another strike origin); the vectors themselves are compared with SKHASH's own."""
    from attpd_bench.focal import skhash
    from attpd_bench.focal.mechanism import fault_vectors

    strike, dip, rake = _random_mechanisms(200, 7)
    script = """
import json, sys
import numpy as np
from SKHASH.functions.fun import vector_from_sdr
out = [[v.tolist() for v in vector_from_sdr(*np.radians(m))] for m in zip(*json.load(sys.stdin))]
print(json.dumps(out))
"""
    result = subprocess.run([str(skhash.python()), "-c", script], input=json.dumps(
        [list(map(float, v)) for v in (strike, dip, rake)]), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    theirs = np.array(json.loads(result.stdout))  # (n, 2, 3): normal, slip
    normal, slip = fault_vectors(strike, dip, rake)
    np.testing.assert_allclose(normal, theirs[:, 0], atol=1e-12)
    np.testing.assert_allclose(slip, theirs[:, 1], atol=1e-12)
