"""Colour science shared by the generator and ingestion: sRGB <-> CIELAB (D65), CIEDE2000.

* :func:`srgb_to_lab` / :func:`lab_to_srgb` — 8-bit-scale sRGB (proper sRGB transfer curve,
  not a plain gamma) <-> CIELAB under the D65 white of sRGB.
* :func:`ciede2000` — the CIE 2000 colour difference, vectorised with numpy broadcasting,
  verified against the 34 published pairs of Sharma, Wu & Dalal (2005).
* :func:`palette_lab` — CIELAB of the 14 palette colours of :mod:`wardrobe.taxonomy`.
* :func:`adaptation_matrix` — a chromatic adaptation transform (Bradford, or von Kries in the
  Hunt-Pointer-Estevez cone space) from a scene's white to D65, complete or partial (degree
  ``D`` as in CIECAM02), as one 3x3 matrix on linear RGB that :func:`srgb_to_lab` applies.

No dependency beyond numpy: serving imports it without the data generator.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from wardrobe.taxonomy import COLOUR_RGB, COLOURS

_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_EPS, _KAPPA = 216 / 24389, 24389 / 27
# XYZ -> cone-like responses: Bradford (Lam 1985, as in CIECAM97s/ICC) and Hunt-Pointer-Estevez
# (normalised to D65, the classic von Kries space)
_CONE_SPACES = {
    "bradford": np.array(
        [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
    ),
    "von_kries": np.array(
        [[0.40024, 0.70760, -0.08081], [-0.22630, 1.16532, 0.04570], [0.0, 0.0, 0.91822]]
    ),
}
CATS = tuple(_CONE_SPACES)
_POW25_7 = 25.0**7


def _srgb_curve(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


_LINEAR_OF_BYTE = _srgb_curve(np.arange(256) / 255.0)  # 8-bit input: a table look-up, no pow


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) in 0..255 -> linear-light RGB in 0..1 (the sRGB transfer curve undone)."""
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return _LINEAR_OF_BYTE[rgb]
    return _srgb_curve(rgb.astype(np.float64) / 255.0)


def srgb_to_lab(rgb: np.ndarray, exposure: float | np.ndarray = 1.0) -> np.ndarray:
    """sRGB (..., 3) in 0..255 -> CIELAB (..., 3), D65 white. ``exposure`` (a number, one
    gain per R, G, B channel, or a 3x3 matrix on linear RGB such as :func:`adaptation_matrix`)
    transforms the light first (linear RGB, clipped to 0..1 as a sensor saturates): a photo's
    exposure and white-balance correction."""
    lin = srgb_to_linear(rgb)
    exposure = np.asarray(exposure, dtype=np.float64)
    if exposure.shape == (3, 3):
        lin = np.clip(lin @ exposure.T, 0.0, 1.0)
    elif np.any(exposure != 1.0):
        lin = np.minimum(lin * exposure, 1.0)
    return xyz_to_lab(lin @ _RGB_TO_XYZ.T)


def xyz_to_lab(xyz: np.ndarray) -> np.ndarray:
    """CIE XYZ (..., 3), Y = 1 for white -> CIELAB (..., 3) relative to D65 (not clipped:
    a colour brighter than white has L* over 100)."""
    xyz = np.asarray(xyz, dtype=np.float64) / _WHITE_D65
    f = np.where(xyz > _EPS, np.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def linear_to_xyz(lin: np.ndarray) -> np.ndarray:
    """Linear-light sRGB (..., 3) in 0..1 -> CIE XYZ (..., 3), Y = 1 for the sRGB white."""
    return np.asarray(lin, dtype=np.float64) @ _RGB_TO_XYZ.T


def adaptation_matrix(
    white_rgb: np.ndarray, degree: float = 1.0, cat: str = "bradford"
) -> np.ndarray:
    """A 3x3 matrix on linear RGB that maps colours seen under the illuminant whose white is
    ``white_rgb`` (linear RGB of a white surface in the photo: its chromaticity is what counts,
    not its brightness) to how they look under D65, the white of sRGB.

    A von Kries-type transform: XYZ to cone-like responses (``cat``: ``"bradford"`` or
    ``"von_kries"``), each response scaled by D65's over the scene white's, back to XYZ.
    ``degree`` (0..1) is the degree of adaptation ``D`` of CIECAM02: 0 changes nothing, 1
    adapts fully; each cone gain is ``D * ratio + (1 - D)``. The scene white's luminance is kept
    (no exposure change)."""
    if cat not in _CONE_SPACES:
        raise ValueError(f"unknown chromatic adaptation {cat!r}; use one of {CATS}")
    if not 0.0 <= degree <= 1.0:
        raise ValueError(f"degree of adaptation must be in 0..1, got {degree}")
    white = np.asarray(white_rgb, dtype=np.float64)
    if white.shape != (3,) or not np.all(np.isfinite(white)) or np.any(white <= 0):
        raise ValueError(f"scene white must be three positive linear RGB values, got {white}")
    cone = _CONE_SPACES[cat]
    src = cone @ linear_to_xyz(white / linear_to_xyz(white)[1])  # the scene white at Y = 1
    dst = cone @ _WHITE_D65
    gains = degree * dst / src + (1.0 - degree)
    cat_xyz = np.linalg.inv(cone) @ np.diag(gains) @ cone
    return _XYZ_TO_RGB @ cat_xyz @ _RGB_TO_XYZ


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance Y (0..1) of sRGB (..., 3) in 0..255."""
    return srgb_to_linear(rgb) @ _RGB_TO_XYZ[1]


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (..., 3) -> sRGB (..., 3) as floats in 0..255 (not clipped)."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f**3 > _EPS, f**3, (116 * f - 16) / _KAPPA) * _WHITE_D65
    lin = xyz @ _XYZ_TO_RGB.T
    lin = np.clip(lin, 0.0, None)
    c = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return c * 255.0


@cache
def palette_lab() -> np.ndarray:
    """CIELAB of the 14 palette colours, in ``COLOURS`` order (14, 3)."""
    return srgb_to_lab(np.array([COLOUR_RGB[c] for c in COLOURS], dtype=np.float64))


def ciede2000(
    lab1: np.ndarray, lab2: np.ndarray, kl: float = 1.0, kc: float = 1.0, kh: float = 1.0
) -> np.ndarray:
    """CIEDE2000 colour difference between CIELAB colours (..., 3), broadcast like numpy.

    Follows Sharma, Wu & Dalal, "The CIEDE2000 color-difference formula: implementation notes,
    supplementary test data, and mathematical observations", Color Res. Appl. 30(1), 2005,
    including the hue conventions for achromatic colours and the mean-hue wrap-around.
    """
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]

    c_bar7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c_bar7 / (c_bar7 + _POW25_7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360.0  # arctan2(0, 0) = 0: hue 0 when achromatic
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360.0
    chroma_product = c1p * c2p
    achromatic = chroma_product == 0

    dlp = l2 - l1
    dcp = c2p - c1p
    dhp = h2p - h1p
    dhp = np.where(dhp > 180, dhp - 360, np.where(dhp < -180, dhp + 360, dhp))
    dhp = np.where(achromatic, 0.0, dhp)
    d_hp = 2 * np.sqrt(chroma_product) * np.sin(np.radians(dhp / 2))

    l_bar = (l1 + l2) / 2
    c_barp = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_barp = np.where(
        np.abs(h1p - h2p) <= 180,
        h_sum / 2,
        np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2),
    )
    h_barp = np.where(achromatic, h_sum, h_barp)

    t = (
        1
        - 0.17 * np.cos(np.radians(h_barp - 30))
        + 0.24 * np.cos(np.radians(2 * h_barp))
        + 0.32 * np.cos(np.radians(3 * h_barp + 6))
        - 0.20 * np.cos(np.radians(4 * h_barp - 63))
    )
    d_theta = 30 * np.exp(-(((h_barp - 275) / 25) ** 2))
    c_barp7 = c_barp**7
    r_c = 2 * np.sqrt(c_barp7 / (c_barp7 + _POW25_7))
    l50 = (l_bar - 50) ** 2
    s_l = 1 + 0.015 * l50 / np.sqrt(20 + l50)
    s_c = 1 + 0.045 * c_barp
    s_h = 1 + 0.015 * c_barp * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c

    dl = dlp / (kl * s_l)
    dc = dcp / (kc * s_c)
    dh = d_hp / (kh * s_h)
    return np.sqrt(np.maximum(dl**2 + dc**2 + dh**2 + r_t * dc * dh, 0.0))


def nearest_palette(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index into ``COLOURS`` of the CIEDE2000-nearest palette colour of each CIELAB colour
    (..., 3), and that distance: ``(indices (...), distances (...))``."""
    lab = np.asarray(lab, dtype=np.float64)
    d = ciede2000(lab[..., None, :], palette_lab())
    idx = d.argmin(axis=-1)
    return idx, np.take_along_axis(d, idx[..., None], axis=-1)[..., 0]
