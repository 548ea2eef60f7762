"""Random training views for the hip localiser: geometry, detector windows that cut off a hip, intensity.

Each view is a ``size``² crop of one working image under a random similarity transform (rotation
±``rotation_deg``, scale ±``scale``, a shift of the centre), mirrored left–right half the time (the
right and left channels then swap, :func:`~hipbmd.localisation.heatmaps.mirror_landmarks`). In a share
``single_hip`` of the views the detector is a smaller window around one hip (as on a single-hip
radiograph), so the other hip is cut off and must be reported absent. Intensities get a random gamma,
are renormalised over the detector window as at inference, get random sharpness, edges, tone and
occlusions away from the heads (:mod:`~hipbmd.localisation.appearance`), and Gaussian noise. A share
``negative`` of the views holds no hip at all: white noise, smoothed noise or a grey ramp under noise,
every channel absent, so that texture alone is never taken for a head. A landmark counts
as present when it lies at least ``edge_margin_mm`` inside the window, absent when it lies outside, and
in between its channel is left out of the loss (weight 0), as it is when an occlusion covers it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.localisation.appearance import AppearanceSettings, perturb_appearance
from hipbmd.localisation.data import LocaliserSample
from hipbmd.localisation.heatmaps import gaussian_heatmaps, mirror_landmarks
from hipbmd.localisation.network import LocaliserConfig, normalise_intensity

HEAD_CHANNELS = (0, 2)
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AugmentSettings:
    """Ranges of the random view parameters (lengths in mm at the detector)."""

    rotation_deg: float = 12.0
    scale: float = 0.15
    shift_mm: float = 40.0
    single_hip: float = 0.35
    window_mm: tuple[float, float] = (150.0, 300.0)
    edge_margin_mm: float = 12.0
    log_gamma: float = 0.5
    noise: float = 0.05
    appearance: AppearanceSettings = field(default_factory=AppearanceSettings)
    negative: float = 0.0


class RandomViews:
    """Seeded source of augmented batches (images, heatmap targets, per-channel loss weights)."""

    def __init__(
        self, samples: list[LocaliserSample], config: LocaliserConfig, settings: AugmentSettings, seed: int
    ) -> None:
        self.samples, self.config, self.settings = samples, config, settings
        self.rng = np.random.default_rng(seed)

    def batch(self, count: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Images (N, 1, S, S), targets (N, K, S, S) and weights (N, K) for the config's K channels."""
        views = [self.view(self.samples[int(self.rng.integers(len(self.samples)))]) for _ in range(count)]
        images, targets, weights = zip(*views, strict=True)
        return np.stack(images)[:, None], np.stack(targets), np.stack(weights)

    def view(self, sample: LocaliserSample) -> tuple[FloatArray, FloatArray, FloatArray]:
        """One random view of ``sample``: image (S, S), targets (K, S, S), weights (K,)."""
        size = self.config.size
        if self.settings.negative and self.rng.random() < self.settings.negative:
            return self._negative_view()
        centre, half_window = self._window(sample)
        angle = math.radians(self.rng.uniform(-1.0, 1.0) * self.settings.rotation_deg)
        zoom = 1.0 + self.rng.uniform(-1.0, 1.0) * self.settings.scale
        rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        matrix = rotation / zoom  # output offset → input offset
        out_centre = np.full(2, (size - 1) / 2.0)
        offset = centre - matrix @ out_centre
        image = ndimage.affine_transform(sample.image, matrix, offset, (size, size), order=1, mode="nearest")
        valid = ndimage.affine_transform(
            sample.valid.astype(np.float32), matrix, offset, (size, size), order=0, cval=0.0
        )
        grid = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="ij"), -1) @ matrix.T + offset
        valid = (valid > 0.5) & np.all(np.abs(grid - centre) <= half_window, axis=-1)
        landmarks = (sample.landmarks - offset) @ np.linalg.inv(matrix).T
        if self.rng.random() < 0.5:
            image, valid = image[:, ::-1], valid[:, ::-1]
            landmarks = mirror_landmarks(landmarks, size, self.config.landmarks)
        image, hidden = self._intensity(image, valid, landmarks[list(HEAD_CHANNELS)])
        weights = self._presence(landmarks, valid, hidden)
        landmarks[weights[:, 1] == 0] = np.nan  # absent: an all-zero target
        targets = gaussian_heatmaps(landmarks, (size, size), self.config.sigma_px)
        return image, targets, weights[:, 0].astype(np.float32)

    def _negative_view(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """A view without a hip: white noise, smoothed noise, or a ramp under noise; all channels absent."""
        size, kind = self.config.size, int(self.rng.integers(3))
        image = self.rng.random((size, size))
        if kind >= 1:
            image = ndimage.gaussian_filter(image, self.rng.uniform(0.5, 4.0))
        if kind == 2:
            angle = self.rng.uniform(0.0, 2.0 * math.pi)
            rows, cols = np.indices((size, size)) / size
            image = image + self.rng.uniform(0.5, 3.0) * (math.cos(angle) * rows + math.sin(angle) * cols)
        normalised = normalise_intensity(image, self.config.percentiles, None)
        channels = len(self.config.landmarks)
        targets = np.zeros((channels, size, size), dtype=np.float32)
        return normalised, targets, np.ones(channels, dtype=np.float32)

    def _window(self, sample: LocaliserSample) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Centre and half-size (working px) of the detector window of this view."""
        pitch, settings = self.config.pitch_mm, self.settings
        heads = [sample.landmarks[c] for c in HEAD_CHANNELS if self._inside(sample, sample.landmarks[c])]
        if heads and self.rng.random() < settings.single_hip:
            head = heads[int(self.rng.integers(len(heads)))]
            low, high = settings.window_mm
            half = self.rng.uniform(low, high, 2) / (2.0 * pitch)
            toward_femur = np.array([self.rng.uniform(0.0, 0.6), self.rng.uniform(-0.5, 0.5)]) * half
            return head + toward_femur, half
        shift = self.rng.uniform(-1.0, 1.0, 2) * settings.shift_mm / pitch
        return (np.asarray(sample.image.shape) - 1) / 2.0 + shift, np.full(2, np.inf)

    @staticmethod
    def _inside(sample: LocaliserSample, point: npt.NDArray[np.float64]) -> bool:
        if not np.all(np.isfinite(point)):
            return False
        row, col = np.round(point).astype(int)
        return bool(0 <= row < sample.valid.shape[0] and 0 <= col < sample.valid.shape[1])

    def _intensity(
        self, image: FloatArray, valid: npt.NDArray[np.bool_], heads: npt.NDArray[np.float64]
    ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """Gamma, renormalisation, appearance perturbations kept clear of ``heads`` (view px), noise;
        returns the image and the pixels an occlusion covers."""
        gamma = math.exp(self.rng.uniform(-1.0, 1.0) * self.settings.log_gamma)
        image = normalise_intensity(image, self.config.percentiles, valid)
        image = np.clip(image, 0.0, 1.5) ** gamma
        image = normalise_intensity(image, self.config.percentiles, valid)
        look = perturb_appearance(image, valid, heads, self.settings.appearance, self.rng)
        image = normalise_intensity(look.image, self.config.percentiles, valid)
        noise = self.rng.normal(0.0, self.rng.uniform(0.0, self.settings.noise), image.shape)
        return np.where(valid, image + noise, 0.0).astype(np.float32), look.hidden

    def _presence(
        self,
        landmarks: npt.NDArray[np.float64],
        valid: npt.NDArray[np.bool_],
        hidden: npt.NDArray[np.bool_],
    ) -> FloatArray:
        """(K, 2): loss weight, and 1 if present / 0 if absent (targets of weight-0 channels are unused).
        A point on a ``hidden`` (occluded) pixel has weight 0: nothing there shows where it is.

        An implant channel's point is its hip's head centre when that hip holds metal, NaN otherwise: it
        is present, absent or left out of the loss exactly as the head would be.
        """
        inside = np.pad(valid, 1)  # the crop's border counts as an edge too
        depth_mm = ndimage.distance_transform_edt(inside)[1:-1, 1:-1] * self.config.pitch_mm
        result = np.zeros((len(landmarks), 2), dtype=np.float32)
        for index, point in enumerate(landmarks):
            if not np.all(np.isfinite(point)):  # no such femur in the truth: absent
                result[index] = (1.0, 0.0)
                continue
            row, col = np.round(point).astype(int)
            within = 0 <= row < valid.shape[0] and 0 <= col < valid.shape[1] and bool(valid[row, col])
            depth = float(depth_mm[row, col]) if within else 0.0
            present = depth >= self.settings.edge_margin_mm
            if within and bool(hidden[row, col]):
                result[index] = (0.0, 1.0 if present else 0.0)
                continue
            result[index] = (1.0 if present or not within else 0.0, 1.0 if present else 0.0)
        return result
