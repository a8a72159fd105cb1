"""Layered 1-D P velocity models of the synthetic regions and first-arrival ray geometry in them.

A model is a list of (depth, vp) nodes with vp rising linearly between them, which is how SKHASH (after HASH)
reads a velocity-model file (``depth,vp`` lines; it drops repeated depths and non-increasing velocities, so a
model meant for it rises strictly). A discontinuity is written as a thin steep gradient (0.5 km): rays that turn
in it are the refracted waves (Pg, Pn) of a layered crust.

:func:`first_arrivals` traces a fan of rays through the nodes' linear-gradient layers in closed form (a ray in
``v = v0 + g z`` is a circular arc), up-going and down-going (turning) from the source, and takes at each
epicentral distance the earliest arrival: its take-off angle and travel time. SKHASH builds its take-off table
the same way (HASH's LAYERTRACE) and reads the same file, so the synthetic truth and SKHASH's angles agree up to
its table's interpolation (2 km x 3 km cells).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

N_RAYS = 2000  # rays per branch, uniform in take-off angle


@dataclass(frozen=True)
class VelocityModel:
    name: str
    reference: str
    depth_km: tuple[float, ...]
    vp_km_s: tuple[float, ...]

    def __post_init__(self):
        depth, vp = np.asarray(self.depth_km), np.asarray(self.vp_km_s)
        if len(depth) != len(vp) or len(depth) < 2 or depth[0] != 0:
            raise ValueError(f"velocity model {self.name}: needs >= 2 (depth, vp) nodes from depth 0")
        if np.any(np.diff(depth) <= 0) or np.any(np.diff(vp) <= 0):
            raise ValueError(f"velocity model {self.name}: depth and vp must rise strictly (SKHASH drops "
                             f"nodes that do not)")

    def vp_at(self, depth_km) -> np.ndarray:
        return np.interp(depth_km, self.depth_km, self.vp_km_s)

    def skhash_text(self) -> str:
        """The model as SKHASH's velocity-model file: ``depth,vp`` lines, no header."""
        lines = [f"# {self.name}: {self.reference}"]
        lines += [f"{z:g},{v:g}" for z, v in zip(self.depth_km, self.vp_km_s)]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> Path:
        Path(path).write_text(self.skhash_text())
        return Path(path)

    def first_arrivals(self, source_depth_km: float, distance_km) -> tuple[np.ndarray, np.ndarray]:
        """Take-off angles (degrees from the downward vertical: < 90 down-going, > 90 up-going) and travel
        times (s) of the first P arrival at the given epicentral distances from a source at this depth."""
        distance = np.atleast_1d(np.asarray(distance_km, dtype=np.float64))
        x, t, takeoff = self._ray_fan(float(source_depth_km))
        # each pair of neighbouring rays brackets a distance interval: interpolate in it, keep the earliest
        lo, hi = x[:-1, None], x[1:, None]
        span = np.where(hi != lo, hi - lo, np.inf)
        frac = (distance[None, :] - lo) / span
        inside = (frac >= 0) & (frac <= 1)
        times = np.where(inside, t[:-1, None] + frac * (t[1:, None] - t[:-1, None]), np.inf)
        best = np.argmin(times, axis=0)
        columns = np.arange(len(distance))
        if not np.all(np.isfinite(times[best, columns])):
            far = distance[~np.isfinite(times[best, columns])].max()
            raise ValueError(f"velocity model {self.name}: no ray reaches {far:.1f} km from a source at "
                             f"{source_depth_km:.1f} km (the model is too shallow)")
        f = frac[best, columns]
        return (takeoff[best] + f * (takeoff[best + 1] - takeoff[best]),
                times[best, columns])

    def _ray_fan(self, source_depth: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distance, time and take-off of the up-going then down-going rays, one continuous curve."""
        depth, vp = np.asarray(self.depth_km, float), np.asarray(self.vp_km_s, float)
        if not 0 <= source_depth < depth[-1]:
            raise ValueError(f"velocity model {self.name}: source depth {source_depth} km outside 0-{depth[-1]}")
        v_source = float(np.interp(source_depth, depth, vp))
        above = depth < source_depth
        top = np.append(depth[above], source_depth), np.append(vp[above], v_source)
        below = depth > source_depth
        bottom = np.insert(depth[below], 0, source_depth), np.insert(vp[below], 0, v_source)
        angle = np.linspace(0.0, 90.0, N_RAYS + 1)[:-1]  # from the vertical; horizontal is a limit
        angle[0] = 1e-6  # p = 0 is the limit of the formulas
        p = np.sin(np.radians(angle)) / v_source
        x_up, t_up = _through(p, *top)
        x_turn, t_turn, turned = _turning(p, *bottom)
        keep = turned[::-1]  # down-going rays (from horizontal to vertical) that turn inside the model
        x = np.concatenate([x_up, (x_up + x_turn)[::-1][keep]])
        t = np.concatenate([t_up, (t_up + t_turn)[::-1][keep]])
        takeoff = np.concatenate([180.0 - angle, angle[::-1][keep]])
        return x, t, takeoff


def _layers(depth: np.ndarray, vp: np.ndarray):
    h = np.diff(depth)
    return vp[:-1], vp[1:], (vp[1:] - vp[:-1]) / np.where(h > 0, h, 1.0), h > 0


def _through(p: np.ndarray, depth: np.ndarray, vp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance and time of rays crossing every layer of the nodes (none turns: p v < 1 throughout)."""
    v1, v2, g, real = _layers(depth, vp)
    if not real.any():
        return np.zeros_like(p), np.zeros_like(p)
    v1, v2, g = v1[real], v2[real], g[real]
    eta1 = np.sqrt(1 - (p[:, None] * v1) ** 2)
    eta2 = np.sqrt(np.clip(1 - (p[:, None] * v2) ** 2, 0, None))
    dx = (eta1 - eta2) / (p[:, None] * g)
    dt = np.log(v2 * (1 + eta1) / (v1 * (1 + eta2))) / g
    return dx.sum(axis=1), dt.sum(axis=1)


def _turning(p: np.ndarray, depth: np.ndarray, vp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Down and back up to the source depth: distance, time, and whether the ray turned inside the model."""
    v1, v2, g, real = _layers(depth, vp)
    v1, v2, g = v1[real], v2[real], g[real]
    pv1, pv2 = p[:, None] * v1, p[:, None] * v2
    enters = pv1 < 1
    turns_here = enters & (pv2 >= 1)
    eta1 = np.sqrt(np.clip(1 - pv1 ** 2, 0, None))
    eta2 = np.sqrt(np.clip(1 - pv2 ** 2, 0, None))
    dx = np.where(turns_here, eta1, eta1 - eta2) / (p[:, None] * g)
    dt = np.where(turns_here, np.log((1 + eta1) / np.maximum(pv1, 1e-12)),
                  np.log(v2 * (1 + eta1) / (v1 * (1 + eta2)))) / g
    dx, dt = np.where(enters, dx, 0.0), np.where(enters, dt, 0.0)
    return 2 * dx.sum(axis=1), 2 * dt.sum(axis=1), turns_here.any(axis=1)


def _step_model(name: str, reference: str, layers: list[tuple[float, float, float]],
                bottom_km: float = 100.0) -> VelocityModel:
    """Nodes from (top depth, vp at top, vp at bottom) layers; each interface a 0.5 km steep gradient."""
    depth, vp = [], []
    for k, (top, v_top, v_bottom) in enumerate(layers):
        base = layers[k + 1][0] if k + 1 < len(layers) else bottom_km
        start = top + (0.5 if k else 0.0)
        depth += [start, base]
        vp += [v_top, v_bottom]
    return VelocityModel(name, reference, tuple(depth), tuple(vp))


#: One model per synthetic region, in the spirit of each region's standard 1-D model (simplified; a small
#: gradient in every layer because SKHASH needs velocity to rise, and a mantle gradient so rays turn).
MODELS: dict[str, VelocityModel] = {
    "ins": _step_model("ins", "after the central-Apennine 1-D models used by INGV (Chiarabba et al. 2005): "
                       "sediments, upper and lower crust, Moho at 30 km",
                       [(0, 4.8, 5.0), (3, 5.6, 5.9), (10, 6.2, 6.4), (22, 6.7, 6.9), (30, 7.9, 8.2)]),
    "hinet": _step_model("hinet", "after JMA2001 (Ueno et al. 2002), simplified: Conrad at 18 km, Moho at 33 "
                         "km", [(0, 5.2, 5.9), (4, 6.0, 6.2), (18, 6.6, 6.9), (33, 7.7, 8.2)], bottom_km=120),
    "scsn": _step_model("scsn", "after Hadley & Kanamori (1977), the southern California model of SCSN and "
                        "HASH: 5.5 / 6.3 / 6.7 / 7.8 km/s with interfaces at 5.5, 16 and 32 km",
                        [(0, 5.5, 5.6), (5.5, 6.3, 6.35), (16, 6.7, 6.75), (32, 7.8, 8.1)]),
    "pnw": _step_model("pnw", "after the Puget Sound model P4 of the PNSN (Crosson 1976), simplified",
                       [(0, 5.4, 5.9), (4, 6.38, 6.55), (16, 6.73, 6.9), (25, 6.95, 7.1),
                        (41, 7.8, 8.1)]),
}
