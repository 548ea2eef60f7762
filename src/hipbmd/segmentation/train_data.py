"""Training material for the segmenter: CTs and label maps on the model's grid, and random patches.

Each case is resampled once to the working grid (or only the half of it on one side of the patient's
midline, the other half held out, :func:`side_half`): the CT in HU (float16) and, per class, the fraction
of each working voxel the class fills (the one-hot labels resampled with the same anti-aliasing as the
CT), so the targets keep sub-voxel edges. Patches are cubes, two in three centred on a random femur
or pelvis voxel, the rest anywhere. Augmentation keeps CT and target aligned (left–right mirror: the
classes have no side), makes the patch look like a coarser scan or one that ends inside the patch
(:mod:`hipbmd.segmentation.scan_augment`, with the given probabilities), and perturbs the CT numbers
only (gain ±3 %, offset ±15 HU, noise up to 20 HU SD), as scanners and calibrations differ.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hipbmd.errors import InputError
from hipbmd.io.label_tables import load_label_table
from hipbmd.segmentation.classes import class_map
from hipbmd.segmentation.labels_out import centre_x_mm
from hipbmd.segmentation.scan_augment import random_coarser_scan, random_cut_scan
from hipbmd.segmentation.working_grid import to_working, working_grid
from hipbmd.types import Volume

FOREGROUND_SHARE = 2.0 / 3.0
MAX_CENTRES = 20000


@dataclass
class TrainingVolume:
    """One case on the working grid: HU (X, Y, Z) and class fractions (C, X, Y, Z), with patch centres."""

    name: str
    hu: npt.NDArray[np.float16]
    targets: npt.NDArray[np.float16]
    centres: list[npt.NDArray[np.int64]]


def cohort_pairs(cohort: Path, first: int = 0, stop: int | None = None) -> list[tuple[str, Path, Path]]:
    """(case id, CT, labels) of a simulated or site cohort's ``manifest.csv`` rows first..stop-1."""
    manifest = cohort / "manifest.csv"
    if not manifest.is_file():
        raise InputError(cohort, "no manifest.csv (not a cohort folder)")
    with manifest.open(newline="") as stream:
        rows = [row for row in csv.DictReader(stream) if row.get("labels")]
    rows.sort(key=lambda row: row["case_id"])
    chosen = rows[first:stop]
    if not chosen:
        raise InputError(manifest, f"no labelled cases in rows {first}:{stop}")
    return [(row["case_id"], cohort / row["ct"], cohort / row["labels"]) for row in chosen]


def training_volume(
    name: str,
    hu: Volume,
    labels: Volume,
    spacing_mm: float,
    class_names: tuple[str, ...],
    seed: int = 0,
    keep_side: str | None = None,
) -> TrainingVolume:
    """Resample a labelled CT to the working grid and list the patch centres of each foreground class.

    ``keep_side`` ("right" or "left"): keep only the patient's half of the scan on that side.
    """
    grid = working_grid(hu, spacing_mm)
    classes = class_map(labels.array, class_names)
    fractions = np.stack(
        [to_working((classes == c).astype(np.float32), grid) for c in range(len(class_names))]
    )
    fractions /= np.maximum(fractions.sum(axis=0, keepdims=True), 1e-6)
    hu_working = to_working(hu.array, grid)
    if keep_side is not None:
        half = side_half(grid.affine, fractions.shape[1], midline_x_mm(labels), keep_side)
        hu_working, fractions = hu_working[half], fractions[:, half]
    return TrainingVolume(
        name, hu_working.astype(np.float16), fractions.astype(np.float16), _centres(fractions, seed)
    )


def _centres(fractions: npt.NDArray[np.float32], seed: int) -> list[npt.NDArray[np.int64]]:
    """Per foreground class, up to :data:`MAX_CENTRES` voxels it fills more than half of."""
    rng = np.random.default_rng(seed)
    centres = []
    for channel in fractions[1:]:
        found = np.argwhere(channel > 0.5)
        if len(found) > MAX_CENTRES:
            found = found[rng.choice(len(found), MAX_CENTRES, replace=False)]
        centres.append(found)
    return centres


def midline_x_mm(labels: Volume) -> float:
    """World x (mm, RAS+) of the patient's midline: halfway between the two femurs' centres, else the
    centre of the pelvis (hip bones, sacrum or a pelvis label).

    Raises:
        ValueError: neither two femurs nor a pelvis are labelled.
    """
    table = load_label_table("hipbmd")
    femurs = [labels.array == table[f"femur_{side}"] for side in ("right", "left")]
    if all(mask.any() for mask in femurs):
        return float(np.mean([centre_x_mm(mask, labels.affine) for mask in femurs]))
    pelvis = np.isin(labels.array, [table[name] for name in ("hip_right", "hip_left", "sacrum", "pelvis")])
    if not pelvis.any():
        raise ValueError("no midline: the labels hold neither both femurs nor a pelvis")
    return centre_x_mm(pelvis, labels.affine)


def side_half(affine: npt.NDArray[np.float64], length: int, midline_mm: float, side: str) -> slice:
    """Indices along the first array axis (of a grid with ``affine``, ``length`` voxels) on the patient's
    ``side`` of the midline at world x ``midline_mm`` (RAS+: the patient's right is +x)."""
    if side not in ("right", "left"):
        raise ValueError(f"side must be right or left, got {side!r}")
    step_x = float(affine[0, 0])
    if abs(step_x) < 1e-6:
        raise ValueError("the grid's first axis does not run left-right")
    cut = int(np.clip(np.ceil((midline_mm - affine[0, 3]) / step_x), 0, length))
    towards_right = step_x > 0
    return slice(cut, length) if (side == "right") == towards_right else slice(0, cut)


class PatchSampler:
    """Random aligned (CT, target) patches of ``size`` voxels from a list of training volumes."""

    def __init__(
        self,
        volumes: list[TrainingVolume],
        size: int,
        seed: int,
        coarse_probability: float = 0.0,
        cut_probability: float = 0.0,
    ) -> None:
        if not volumes:
            raise ValueError("no training volumes")
        self.volumes = volumes
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.coarse_probability = coarse_probability
        self.cut_probability = cut_probability

    def batch(self, count: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """``count`` patches: HU (N, 1, S, S, S) and class fractions (N, C, S, S, S)."""
        pairs = [self.patch() for _ in range(count)]
        return np.stack([p[0][None] for p in pairs]), np.stack([p[1] for p in pairs])

    def patch(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """One augmented patch: HU (S, S, S) and fractions (C, S, S, S)."""
        volume = self.volumes[int(self.rng.integers(len(self.volumes)))]
        corner = self._corner(volume)
        block = tuple(slice(c, c + self.size) for c in corner)
        hu = _padded(volume.hu, block, -1000.0)
        targets = np.stack([_padded(t, block, 1.0 if c == 0 else 0.0) for c, t in enumerate(volume.targets)])
        if self.rng.random() < 0.5:
            hu, targets = hu[::-1], targets[:, ::-1]
        hu, targets = np.ascontiguousarray(hu), np.ascontiguousarray(targets, dtype=np.float32)
        # no draw for a change that is off, so runs without them repeat the earlier random stream
        if self.coarse_probability > 0 and self.rng.random() < self.coarse_probability:
            hu = random_coarser_scan(hu, self.rng)
        if self.cut_probability > 0 and self.rng.random() < self.cut_probability:
            hu, targets = random_cut_scan(hu, targets, self.rng)
        return self._perturb(hu), targets

    def _corner(self, volume: TrainingVolume) -> tuple[int, ...]:
        shape = volume.hu.shape
        choices = [c for c in volume.centres if len(c)]
        if choices and self.rng.random() < FOREGROUND_SHARE:
            found = choices[int(self.rng.integers(len(choices)))]
            centre = found[int(self.rng.integers(len(found)))]
            jitter = self.rng.integers(-self.size // 4, self.size // 4 + 1, size=3)
            return tuple(int(c + j - self.size // 2) for c, j in zip(centre, jitter, strict=True))
        return tuple(int(self.rng.integers(min(0, n - self.size), max(1, n - self.size + 1))) for n in shape)

    def _perturb(self, hu: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        gain = 1.0 + self.rng.normal(0.0, 0.03)
        offset = self.rng.normal(0.0, 15.0)
        noise = self.rng.normal(0.0, self.rng.uniform(0.0, 20.0), size=hu.shape)
        return np.asarray(hu * gain + offset + noise, dtype=np.float32)


def _padded(array: npt.NDArray[np.float16], block: tuple[slice, ...], fill: float) -> npt.NDArray[np.float32]:
    """array[block] with out-of-range voxels set to ``fill``."""
    size = [s.stop - s.start for s in block]
    out = np.full(size, fill, dtype=np.float32)
    source, target = [], []
    for s, n in zip(block, array.shape, strict=True):
        low, high = max(s.start, 0), min(s.stop, n)
        source.append(slice(low, max(low, high)))
        target.append(slice(low - s.start, low - s.start + max(0, high - low)))
    out[tuple(target)] = array[tuple(source)]
    return out
