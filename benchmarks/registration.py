"""2D/3D registration on simulated radiographs of the real abdomen–pelvis CT.

Each case: a true pose near the AP view (±5°, ±10 mm), a radiograph simulated from the CT in that pose
(rendered at twice the resolution and block-averaged, blurred, with a non-linear tone curve and noise, so
that it is not the registration's own model), and a start offset by uniform random ±10° and ±20 mm on each
axis. Errors are measured on femur landmarks (centroid, most superior and most lateral point of each
femur, from the CT's TotalSegmentator labels): mTRE, the mean 3-D distance in the camera frame, and mPD,
the mean distance of their projections, scaled to the patient plane.

Usage:  .venv/bin/python benchmarks/registration.py [--cases 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from hipbmd.drr.geometry import PoseParameters, project_points
from hipbmd.drr.render import hu_to_attenuation, render
from hipbmd.io import read_ct, read_labels
from hipbmd.registration import register
from hipbmd.registration.register import block_mean
from hipbmd.types import Camera, Radiograph, Volume

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "data" / "real" / "totalsegmentator_example_ct"
FEMURS = (88, 89)
SHAPE, SPACING_MM, SDD_MM, SOD_MM = (256, 256), 1.6, 1100.0, 950.0
SUCCESS_MTRE_MM = 2.0


def femur_landmarks(ct: Volume, labels: Volume) -> np.ndarray:
    """(6, 3) world points: per femur its centroid, most superior and most lateral voxel centre."""
    points = []
    for value in FEMURS:
        world = ct.voxel_to_world_mm(np.argwhere(labels.array == value))
        lateral = world[np.argmax(np.abs(world[:, 0] - world[:, 0].mean()) * np.sign(world[:, 0].mean()))]
        points += [world.mean(axis=0), world[np.argmax(world[:, 2])], lateral]
    return np.array(points)


def simulate(ct: Volume, pose: PoseParameters, rng: np.random.Generator) -> Radiograph:
    """A radiograph of the CT in ``pose``: fine render, detector blur, tone curve, quantum-like noise."""
    fine = Camera((SHAPE[0] * 2, SHAPE[1] * 2), (SPACING_MM / 2, SPACING_MM / 2), SDD_MM, pose=pose.to_pose())
    line_integral = block_mean(render(hu_to_attenuation(ct), fine).images[0], 2)
    transmitted = np.exp(-line_integral)
    counts = rng.poisson(2000.0 * transmitted) + 1.0
    image = ndimage.gaussian_filter(-np.log(counts / 2000.0), 0.7)  # bone bright, log-processed
    image = np.sign(image) * np.abs(image) ** 0.8  # a vendor-like tone curve
    return Radiograph(
        image.astype(np.float32), (SPACING_MM, SPACING_MM), "imager", sid_mm=SDD_MM, sod_mm=SOD_MM
    )


def landmark_errors(
    truth: PoseParameters, estimate: PoseParameters, landmarks: np.ndarray
) -> tuple[float, float]:
    """(mTRE mm, mPD mm at the patient plane) between the landmarks under the two poses."""
    true_pose, est_pose = truth.to_pose(), estimate.to_pose()
    true_cam = landmarks @ true_pose.rotation.T + true_pose.translation_mm
    est_cam = landmarks @ est_pose.rotation.T + est_pose.translation_mm
    camera = Camera(SHAPE, (SPACING_MM, SPACING_MM), SDD_MM)
    true_px = project_points(Camera(SHAPE, (SPACING_MM, SPACING_MM), SDD_MM, pose=true_pose), landmarks)
    est_px = project_points(Camera(SHAPE, (SPACING_MM, SPACING_MM), SDD_MM, pose=est_pose), landmarks)
    projection_mm = np.linalg.norm(true_px - est_px, axis=1) * SPACING_MM * SOD_MM / camera.sdd_mm
    return float(np.linalg.norm(true_cam - est_cam, axis=1).mean()), float(projection_mm.mean())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--interior-fraction",
        type=float,
        default=0.0,
        help="compare only where the DRR exceeds this fraction of its maximum (0: whole image)",
    )
    args = parser.parse_args()
    ct = read_ct(FOLDER / "example_ct.nii.gz")
    labels = read_labels(FOLDER / "example_seg_v1.nii.gz", like=ct)
    landmarks = femur_landmarks(ct, labels)
    hips = ct.voxel_to_world_mm(np.argwhere(np.isin(labels.array, [88, 89, 90, 91])).mean(axis=0))
    rng = np.random.default_rng(args.seed)
    print(
        f"{'case':>4} {'start mTRE':>10} {'mTRE mm':>8} {'mPD mm':>7} {'similarity':>10} {'conv':>5} {'s':>6}"
    )
    rows = []
    for case in range(args.cases):
        truth = PoseParameters(
            tuple(rng.uniform(-5, 5, 3)), tuple(rng.uniform(-10, 10, 3)), tuple(hips), SOD_MM
        )
        offset = rng.uniform(-1, 1, 6) * [10, 10, 10, 20, 20, 20]
        start = PoseParameters(
            tuple(np.add(truth.rotation_deg, offset[:3])),
            tuple(np.add(truth.translation_mm, offset[3:])),
            truth.isocenter_mm,
            SOD_MM,
        )
        radiograph = simulate(ct, truth, rng)
        began = time.perf_counter()
        estimate, report = register(radiograph, ct, start, interior_fraction=args.interior_fraction)
        seconds = time.perf_counter() - began
        start_mtre, _ = landmark_errors(truth, start, landmarks)
        mtre, mpd = landmark_errors(truth, estimate, landmarks)
        rows.append((mtre, mpd, seconds, report.converged))
        print(
            f"{case:4d} {start_mtre:10.1f} {mtre:8.2f} {mpd:7.2f} {report.similarity:10.4f} "
            f"{'yes' if report.converged else 'no':>5} {seconds:6.1f}",
            flush=True,
        )
    mtres, mpds, times, converged = (np.array(column) for column in zip(*rows, strict=True))
    success = mtres < SUCCESS_MTRE_MM
    print()
    print(
        f"cases {len(rows)}; success (mTRE < {SUCCESS_MTRE_MM} mm) {100 * success.mean():.0f} % "
        "(target >= 90 %)"
    )
    print(
        f"mTRE mm: median {np.median(mtres):.2f} (target < 1), mean over successes "
        f"{mtres[success].mean() if success.any() else float('nan'):.2f} (target < 2), max {mtres.max():.2f}"
    )
    print(
        f"mPD mm (in-plane): median {np.median(mpds):.2f}, max {mpds.max():.2f}; "
        f"success by mPD < {SUCCESS_MTRE_MM} mm: {100 * (mpds < SUCCESS_MTRE_MM).mean():.0f} %"
    )
    print(
        f"seconds per registration on this machine: median {np.median(times):.1f}, max {times.max():.1f} "
        f"(target <= 30)"
    )
    print(
        f"flagged converged: {100 * converged.mean():.0f} %; of those, successful: "
        f"{100 * success[converged].mean() if converged.any() else float('nan'):.0f} %"
    )


if __name__ == "__main__":
    main()
