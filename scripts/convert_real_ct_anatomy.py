"""Convert the bundled real CT (TotalSegmentator's example) into the ``real_ct`` anatomy resource.

    python scripts/convert_real_ct_anatomy.py [--source data/real/totalsegmentator_example_ct]
                                              [--out src/hipbmd/resources/anatomy/real_ct]

Reads ``example_ct.nii.gz`` (3 mm, RAS, HU) and ``example_seg_v1.nii.gz`` (TotalSegmentator v1 labels) and
writes ``pelvis_ct.npz``, the basis materials the simulator uses (:mod:`hipbmd.sim.real_ct_anatomy`):

1. The body is the largest connected part above −400 HU (the table and the air around are dropped).
2. Both femurs (labels 88, 89, grown by one voxel but never into the hip bones, so the acetabular cups
   stay) and the left hip's metal implant (> 2000 HU within three voxels of the left femur) are
   replaced by muscle-like soft tissue; the synthetic femurs go there.
3. Near the implant (within 45 mm) the metal's streaks are clipped: soft tissue to −120…120 HU, the hip
   bone to at most 1500 HU.
4. CT numbers become mineral, soft tissue and fat at 70 keV (120 kVp) with :func:`hu_to_basis`.
5. The hip centres are sphere fits to the joint surface (the femur and hip-bone voxels that touch).
6. The body's outline at the hips (the lowest 8 slices) and its back (the table's plane) are recorded for
   the synthetic thighs continuing the body below the scan.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.sim.hu_materials import hu_to_basis
from hipbmd.sim.tissues import LABELS

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT / "data" / "real" / "totalsegmentator_example_ct"
DEFAULT_OUT = ROOT / "src" / "hipbmd" / "resources" / "anatomy" / "real_ct"
EFFECTIVE_ENERGY_KEV = 70.0
FEMUR = {"right": 89, "left": 88}
HIP = {"right": 91, "left": 90}
SACRUM = 92
KEPT_LABELS = {91: LABELS["hip_right"], 90: LABELS["hip_left"], 92: LABELS["sacrum"]}
HIP_LEVEL_SLICES = 8
Mask = npt.NDArray[np.bool_]


def body_mask(hu: npt.NDArray[np.float64]) -> Mask:
    """The patient: the largest connected part above −400 HU, holes filled slice by slice."""
    solid = ndimage.binary_opening(hu > -400.0, iterations=1)
    parts, count = ndimage.label(solid)
    sizes = ndimage.sum(solid, parts, range(1, count + 1))
    body = parts == 1 + int(np.argmax(sizes))
    for z in range(body.shape[2]):
        body[:, :, z] = ndimage.binary_fill_holes(body[:, :, z])
    return body


def removed_mask(hu: npt.NDArray[np.float64], seg: npt.NDArray[np.int32]) -> tuple[Mask, Mask]:
    """The femurs and the implant (grown by one voxel, sparing the hip bones), and the implant alone."""
    near_left = ndimage.binary_dilation(seg == FEMUR["left"], iterations=3)
    metal = (hu > 2000.0) & near_left
    femurs = np.isin(seg, list(FEMUR.values())) | metal
    grown = ndimage.binary_dilation(femurs, iterations=1) & ~np.isin(seg, list(HIP.values()))
    return grown | femurs, metal


def without_streaks(hu: npt.NDArray[np.float64], seg: npt.NDArray[np.int32], metal: Mask) -> None:
    """Clip the metal's streaks within 45 mm of it (in place): soft tissue and hip bone kept plausible."""
    near = ndimage.distance_transform_edt(~metal, sampling=3.0) < 45.0
    hip = np.isin(seg, list(HIP.values()))
    hu[near & ~hip] = np.clip(hu[near & ~hip], -120.0, 120.0)
    hu[near & hip] = np.clip(hu[near & hip], -120.0, 1500.0)


def sphere_fit(points_mm: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], float]:
    """Least-squares sphere through points: |p|² = 2c·p + (r² − |c|²). Returns centre (mm), radius (mm)."""
    design = np.column_stack([2.0 * points_mm, np.ones(len(points_mm))])
    solution, *_ = np.linalg.lstsq(design, np.sum(points_mm**2, axis=1), rcond=None)
    centre = solution[:3]
    return centre, float(np.sqrt(solution[3] + centre @ centre))


def hip_centre(
    seg: npt.NDArray[np.int32], affine: npt.NDArray[np.float64], side: str
) -> tuple[npt.NDArray[np.float64], float]:
    """Centre and radius (mm) of the joint surface: femur and hip-bone voxels of one side that touch.

    Each set's voxel centres lie about half a voxel off the surface, on either side; the two fits are
    averaged.
    """
    femur, hip = seg == FEMUR[side], seg == HIP[side]
    fits = [
        sphere_fit(_world(np.argwhere(a & ndimage.binary_dilation(b)), affine))
        for a, b in ((femur, hip), (hip, femur))
    ]
    return (fits[0][0] + fits[1][0]) / 2.0, (fits[0][1] + fits[1][1]) / 2.0


def _world(index: npt.NDArray[np.intp], affine: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(index @ affine[:3, :3].T + affine[:3, 3], np.float64)


def outline_at_hips(body: Mask, affine: npt.NDArray[np.float64]) -> dict[str, float]:
    """Width, front and back (mm, world) of the body at the hips; the back from every slice (the table)."""
    low = np.argwhere(body[:, :, :HIP_LEVEL_SLICES])
    every = np.argwhere(body)
    spacing, origin = np.diag(affine)[:3], affine[:3, 3]
    return {
        "width_mm": float((np.ptp(low[:, 0]) + 1) * spacing[0]),
        "front_y_mm": float(low[:, 1].max() * spacing[1] + origin[1] + spacing[1] / 2),
        "back_y_mm": float(every[:, 1].min() * spacing[1] + origin[1] - spacing[1] / 2),
        "centre_x_mm": float((low[:, 0].min() + low[:, 0].max()) / 2 * spacing[0] + origin[0]),
    }


def convert(source: Path, out: Path) -> None:
    """Write ``pelvis_ct.npz`` and copy the licence; PROVENANCE.txt is kept by hand beside them."""
    image = nib.load(source / "example_ct.nii.gz")
    affine = np.asarray(image.affine, np.float64)
    if nib.aff2axcodes(affine) != ("R", "A", "S") or np.count_nonzero(
        affine[:3, :3] - np.diag(np.diag(affine)[:3])
    ):
        raise ValueError("expected an axis-aligned RAS image")
    hu = np.asarray(image.dataobj, np.float64)
    seg = np.asarray(nib.load(source / "example_seg_v1.nii.gz").dataobj, np.int32)
    body = body_mask(hu)
    removed, metal = removed_mask(hu, seg)
    without_streaks(hu, seg, metal)
    basis = hu_to_basis(np.where(body, hu, -1000.0), EFFECTIVE_ENERGY_KEV)
    mineral, soft, fat = basis.mineral_mg_cm3, basis.soft_g_cm3, basis.fat_g_cm3
    mineral[removed], soft[removed], fat[removed] = 0.0, 1.05, 0.0
    labels = np.zeros(seg.shape, np.uint8)
    for source_label, label in KEPT_LABELS.items():
        labels[seg == source_label] = label
    centres = {side: hip_centre(seg, affine, side) for side in ("right", "left")}
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out / "pelvis_ct.npz",
        mineral_mg_cm3=np.round(mineral).astype(np.int16),
        soft_mg_cm3=np.round(soft * 1000.0).astype(np.uint16),
        fat_mg_cm3=np.round(fat * 1000.0).astype(np.uint16),
        labels=labels,
        origin_mm=affine[:3, 3],
        spacing_mm=np.diag(affine)[:3],
        hip_centres_mm=np.stack([centres["right"][0], centres["left"][0]]),
        joint_radius_mm=np.array([centres["right"][1], centres["left"][1]]),
        effective_energy_kev=np.float64(EFFECTIVE_ENERGY_KEV),
        **{name: np.float64(value) for name, value in outline_at_hips(body, affine).items()},
    )
    shutil.copyfile(source / "LICENSE", out / "LICENSE")
    print({side: (np.round(c, 1).tolist(), round(r, 1)) for side, (c, r) in centres.items()})
    print(outline_at_hips(body, affine), "removed voxels:", int(removed.sum()), "metal:", int(metal.sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    convert(args.source, args.out)


if __name__ == "__main__":
    main()
