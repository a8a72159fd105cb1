"""Focal mechanisms: double-couple geometry and the Kagan angle between two mechanisms.

A mechanism is (strike, dip, rake) in degrees (Aki & Richards). Its fault normal ``n`` and slip vector ``d`` are
taken in (north, east, down) coordinates, as HASH and SKHASH take them (SKHASH's ``vector_from_sdr``). The Kagan
angle (Kagan 1991) is the smallest rotation taking one double couple onto the other: a double couple is the same
under a half turn about its T, P or B axis, so the smallest of four rotations, between (n, d) and each of
(n, d), (-n, -d), (d, n), (-d, -n) of the other. It lies in [0, 120] degrees; a mechanism and its auxiliary
plane give 0.
"""

from __future__ import annotations

import numpy as np


def fault_vectors(strike, dip, rake) -> tuple[np.ndarray, np.ndarray]:
    """Unit fault normals and slip vectors, (n, 3) each, in (north, east, down) coordinates."""
    s, d, r = (np.radians(np.atleast_1d(np.asarray(v, dtype=np.float64))) for v in (strike, dip, rake))
    normal = np.stack([-np.sin(d) * np.sin(s), np.sin(d) * np.cos(s), -np.cos(d)], axis=-1)
    slip = np.stack([np.cos(r) * np.cos(s) + np.cos(d) * np.sin(r) * np.sin(s),
                     np.cos(r) * np.sin(s) - np.cos(d) * np.sin(r) * np.cos(s),
                     -np.sin(r) * np.sin(d)], axis=-1)
    return normal, slip


def auxiliary_plane(strike, dip, rake) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(strike, dip, rake) of the other nodal plane: its normal is the slip vector and its slip the normal."""
    normal, slip = fault_vectors(strike, dip, rake)
    return plane_from_vectors(slip, normal)


def plane_from_vectors(normal: np.ndarray, slip: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(strike, dip, rake) in degrees of the plane with this normal and slip; a downward normal is reversed
    with its slip (the same double couple), so that dip lies in [0, 90]."""
    down = normal[:, 2] > 0  # the normal must point up (negative down component)
    normal = np.where(down[:, None], -normal, normal)
    slip = np.where(down[:, None], -slip, slip)
    dip = np.degrees(np.arccos(np.clip(-normal[:, 2], -1.0, 1.0)))
    strike = np.degrees(np.arctan2(-normal[:, 0], normal[:, 1])) % 360.0
    s = np.radians(strike)
    along_strike = np.stack([np.cos(s), np.sin(s), np.zeros_like(s)], axis=-1)
    up_dip = np.cross(normal, along_strike)  # in the plane, perpendicular to strike, pointing up
    rake = np.degrees(np.arctan2(np.einsum("ij,ij->i", slip, up_dip), np.einsum("ij,ij->i", slip, along_strike)))
    return strike, dip, rake


def kagan_angle(mechanism_a, mechanism_b) -> np.ndarray:
    """Kagan angles in degrees between mechanisms ``a`` and ``b``, each (strike, dip, rake) of arrays or scalars
    (broadcast against each other)."""
    normal_a, slip_a = fault_vectors(*mechanism_a)
    normal_b, slip_b = fault_vectors(*mechanism_b)
    normal_a, slip_a, normal_b, slip_b = np.broadcast_arrays(normal_a, slip_a, normal_b, slip_b)
    frame_a = _frame(normal_a, slip_a)
    angles = []
    for n, d in ((normal_b, slip_b), (-normal_b, -slip_b), (slip_b, normal_b), (-slip_b, -normal_b)):
        rotation = _frame(n, d) @ np.swapaxes(frame_a, -1, -2)
        cosine = (np.trace(rotation, axis1=-2, axis2=-1) - 1.0) / 2.0
        angles.append(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))
    return np.min(angles, axis=0)


def _frame(normal: np.ndarray, slip: np.ndarray) -> np.ndarray:
    """Orthonormal frames (..., 3, 3) with columns n, d and n x d."""
    return np.stack([normal, slip, np.cross(normal, slip)], axis=-1)
