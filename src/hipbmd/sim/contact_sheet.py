"""A contact sheet of a cohort's first cases: radiograph, femur DRR and a CT slice side by side.

The files are read back with hipbmd's own readers, so the sheet also shows that a site's files open.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from hipbmd.io.ct import read_ct
from hipbmd.io.radiograph import read_radiograph
from hipbmd.sim.case_truth import CaseTruth

COLUMNS = ("radiograph", "femur DRR (truth, g/cm²)", "CT at the femoral heads (HU)", "DXA position (truth)")


def _windowed(
    image: npt.NDArray[np.floating], low_pct: float = 1.0, high_pct: float = 99.5
) -> npt.NDArray[np.float64]:
    low, high = (float(v) for v in np.percentile(image, [low_pct, high_pct]))
    return np.asarray(np.clip((np.asarray(image, np.float64) - low) / max(high - low, 1e-9), 0.0, 1.0))


def _ct_slice(case: Path) -> npt.NDArray[np.float64]:
    ct_path = case / "ct" if (case / "ct").is_dir() else case / "ct.nii.gz"
    ct = read_ct(ct_path)
    k = round(float(ct.world_mm_to_voxel([0.0, 0.0, 0.0])[2]))
    axial = ct.array[:, :, int(np.clip(k, 0, ct.shape[2] - 1))]
    # RAS voxels: show as radiologists do (patient's right on the viewer's left, anterior up)
    return np.clip((axial.T[::-1, ::-1] + 200.0) / 1200.0, 0.0, 1.0)


def write_contact_sheet(cohort: Path, path: Path, cases: int = 6) -> Path | None:
    """Draw up to ``cases`` finished cases into a PNG; returns its path (None if no case is finished)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folders = sorted(p.parent for p in (cohort / "cases").glob("*/truth.json"))[:cases]
    if not folders:
        return None
    figure, axes = plt.subplots(len(folders), len(COLUMNS), figsize=(4.2 * len(COLUMNS), 3.6 * len(folders)))
    axes = np.atleast_2d(axes)
    for row, case in zip(axes, folders, strict=True):
        _draw_case(row, case)
    for axis, title in zip(axes[0], COLUMNS, strict=True):
        axis.set_title(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def _draw_case(row: npt.NDArray[np.object_], case: Path) -> None:
    truth = CaseTruth.read(case)
    side = truth.index_side
    radiograph = read_radiograph(case / truth.radiograph_file)
    drrs = np.load(case / "truth" / "femur_drr.npz")
    dxa = np.load(case / "truth" / f"dxa_pose_{side}.npz")
    images = [
        _windowed(radiograph.array),
        np.clip(sum(drrs[s] for s in drrs.files) / 3.0, 0.0, 1.0),
        _ct_slice(case),
        np.clip(dxa["image_g_cm2"] / 3.0, 0.0, 1.0),
    ]
    for axis, image in zip(row, images, strict=True):
        axis.imshow(image, cmap="gray", vmin=0.0, vmax=1.0)
        axis.set_xticks([])
        axis.set_yticks([])
    for name, colour in (("roi_neck", "red"), ("roi_total_hip", "gold")):
        row[3].contour(dxa[name], levels=[0.5], colors=colour, linewidths=0.8)
    label = f"{truth.case_id} · {truth.site} · {truth.sex} {truth.age_years:.0f} y"
    row[0].set_ylabel(label, fontsize=8)
    neck = truth.dxa_g_cm2["neck"]
    row[3].set_xlabel(f"{side} DXA neck {neck:.3f} g/cm²", fontsize=8)
