"""DXA-like regions: neck box geometry, total hip and proximal femur edges, analytic aBMD."""

from __future__ import annotations

from pathlib import Path

import femur_phantom as phantom
import numpy as np
import pytest

from hipbmd.drr.geometry import PoseParameters
from hipbmd.drr.render import render
from hipbmd.femur.ct_abmd import CTaBMDResult, ct_abmd
from hipbmd.femur.roi import ROISettings, _scan_neck, bone_mask, measure_rois, neck_widths_mm
from hipbmd.types import Camera, Volume


@pytest.fixture(scope="module")
def right() -> CTaBMDResult:
    return ct_abmd(phantom.volume("right"), phantom.landmarks("right"))


def _neck_box_frame(result: CTaBMDResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    corners = result.rois.neck_box_corners_px
    axis = np.array(result.rois.neck_axis_px)
    across = np.array([-axis[1], axis[0]])
    return corners, axis, across


def test_neck_box_is_15_mm_along_the_axis_and_spans_the_neck(right: CTaBMDResult) -> None:
    corners, axis, across = _neck_box_frame(right)
    spacing = right.rois.pixel_spacing_mm
    along = (corners - corners.mean(axis=0)) @ axis * spacing
    side = (corners - corners.mean(axis=0)) @ across * spacing
    assert np.ptp(along) == pytest.approx(15.0)
    assert np.ptp(side) == pytest.approx(1.5 * right.rois.neck_width_mm)
    # the analytic neck is 28 mm wide at its waist; 1 mm voxels blur each edge by up to ~0.9 mm
    assert 28.0 <= right.rois.neck_width_mm <= 30.0


def test_neck_box_is_centred_on_the_narrowest_section(right: CTaBMDResult) -> None:
    assert right.rois.narrowest_from_head_mm == pytest.approx(phantom.NARROWEST_FROM_HEAD_MM, abs=1.0)
    assert abs(right.rois.narrowest_offset_mm) <= 1.0
    row, col = np.rint(right.view.landmarks_px["neck_narrowest"]).astype(int)
    assert right.rois.masks["neck"][row, col]
    assert "neck_narrowest_at_scan_limit" not in right.rois.flags


def test_total_hip_and_proximal_femur_bottom_edges(right: CTaBMDResult) -> None:
    spacing = right.rois.pixel_spacing_mm
    lesser_row = right.view.landmarks_px["lesser_trochanter"][0]
    for name, below_mm in (("total_hip", 10.0), ("proximal_femur", 20.0)):
        rows = np.nonzero((right.rois.masks[name] & right.bone).any(axis=1))[0]
        assert (rows.max() - lesser_row) * spacing == pytest.approx(below_mm, abs=spacing)


def test_regions_exclude_the_head_and_include_the_trochanter(right: CTaBMDResult) -> None:
    head = tuple(np.rint(right.view.landmarks_px["head_centre"]).astype(int))
    row, col = np.rint(right.view.landmarks_px["greater_trochanter"]).astype(int)
    greater = (row + 4, col)  # 2 mm below the top of the greater trochanter
    for name in ("total_hip", "proximal_femur"):
        assert not right.rois.masks[name][head]
        assert right.rois.masks[name][greater] and right.bone[greater]
    # the neck box lies inside the total hip, which lies inside the proximal femur
    bone = right.bone
    assert not (right.rois.masks["neck"] & bone & ~right.rois.masks["total_hip"]).any()
    assert not (right.rois.masks["total_hip"] & bone & ~right.rois.masks["proximal_femur"]).any()


def test_neck_box_mass_and_abmd_match_the_analytic_neck(right: CTaBMDResult) -> None:
    centre = right.rois.narrowest_from_head_mm
    t = np.linspace(centre - 7.5, centre + 7.5, 3001)
    radius = phantom.neck_radius_mm(t)
    mass_g = phantom.DENSITY_MG_CM3 * np.trapezoid(np.pi * radius**2, t) * 1e-6
    neck = right.measurements["neck"]
    assert neck["bmc_g"] == pytest.approx(mass_g, rel=0.02)
    # mean over the projected outline: ρ·π·r/2 averaged over the box. The 1 mm voxels blur each edge,
    # which widens the bone outline by δ (~1 mm) and lowers the mean by the added area δ × 15 mm.
    true_area_mm2 = np.trapezoid(2 * radius, t)
    ideal = mass_g / (true_area_mm2 * 1e-2)
    blur_mm = right.rois.neck_width_mm - 2 * phantom.neck_radius_mm(np.array(centre))
    assert 0.0 <= blur_mm <= 2.0
    assert neck["abmd_g_cm2"] == pytest.approx(ideal, rel=0.06)
    assert neck["abmd_g_cm2"] * (1 + blur_mm * 15.0 / true_area_mm2) == pytest.approx(ideal, rel=0.015)


def _cylinder_z(radius_mm: float, density: float, supersample: int = 16) -> Volume:
    """Uniform cylinder along world z on a 1 mm grid whose voxel centres sit on integers (anti-aliased)."""
    half = int(np.ceil(radius_mm)) + 2
    steps = (np.arange(supersample) + 0.5) / supersample - 0.5
    centres = np.arange(-half, half + 1, dtype=float)
    x = (centres[:, None] + steps[None, :]).ravel()
    inside = (x[:, None] ** 2 + x[None, :] ** 2) <= radius_mm**2
    size = len(centres)
    area = inside.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    array = np.repeat(area[:, :, None], 40, axis=2).astype(np.float32) * density
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    affine[:3, 3] = [-half, -half, -19.5]
    return Volume(array, affine, "mg/cm3")


def test_uniform_cylinder_side_on_has_mean_areal_density_rho_pi_r_over_2() -> None:
    radius, density = 15.5, 800.0  # edges on voxel faces: the projected outline is exactly 2r
    volume = _cylinder_z(radius, density)
    camera = Camera(
        (40, 80), (0.5, 0.5), 1000.0, projection="parallel", pose=PoseParameters(sod_mm=500.0).to_pose()
    )
    image = render(volume, camera).images[0]
    bone = bone_mask(image)
    region = np.zeros_like(bone)
    region[5:35] = True  # 15 mm of the cylinder's length, all its width
    result = measure_rois(image, {"slab": region}, bone, 0.5)["slab"]
    expected = density * np.pi * radius / 2.0 * 1e-4
    assert result["abmd_g_cm2"] == pytest.approx(expected, rel=0.01)
    assert result["area_cm2"] == pytest.approx(2 * radius * 15.0 / 100.0, rel=1e-9)


def test_neck_widths_of_a_tilted_band() -> None:
    rows, cols = np.mgrid[0:200, 0:200]
    axis = np.array([np.cos(0.6), np.sin(0.6)])
    across = np.array([-axis[1], axis[0]])
    offset = (rows - 100) * across[0] + (cols - 100) * across[1]
    band = (offset >= -20) & (offset <= 24)  # 44 px wide, centred 2 px off the axis
    widths, mids = neck_widths_mm(
        band, np.array([100.0, 100.0]), axis, np.array([0.0, 10.0, 20.0]), 0.5, 40.0
    )
    assert np.allclose(widths, 44 * 0.5, atol=0.5)
    assert np.allclose(mids, 2 * 0.5, atol=0.3)


def test_region_without_bone_reports_nan() -> None:
    image = np.zeros((10, 10), np.float32)
    result = measure_rois(image, {"empty": np.ones((10, 10), bool)}, bone_mask(image), 0.5)["empty"]
    assert np.isnan(result["abmd_g_cm2"]) and result["bone_pixels"] == 0


def test_roi_png_is_written(right: CTaBMDResult, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from hipbmd.femur.roi_figure import save_roi_png

    path = save_roi_png(tmp_path / "rois.png", right.image_g_cm2, right.rois, right.measurements, right.bone)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("narrows_towards", ["head", "base"])
def test_narrowest_neck_is_flagged_only_at_the_neck_base_end(narrows_towards: str) -> None:
    """A straight neck band whose width changes linearly along the axis: the narrowest section lies at
    one end of the scan. Against the head's outline that is ordinary anatomy; at the neck base the neck
    may narrow further beyond the scan, which is flagged."""
    spacing_mm, head = 0.5, np.array([100.0, 10.0])
    axis, across = np.array([0.0, -1.0]), np.array([1.0, 0.0])  # the head lies towards column 0
    columns = np.arange(200)
    from_head_mm = (columns - head[1]) * spacing_mm
    slope = 0.1 if narrows_towards == "head" else -0.1
    half_width_mm = 14.0 + slope * (from_head_mm - 40.0)
    rows = np.arange(200)[:, None]
    bone = np.abs(rows - head[0]) * spacing_mm <= half_width_mm[None, :]
    t_mm, width_mm, _, flags = _scan_neck(bone, head, axis, across, 10.0, 70.0, spacing_mm, ROISettings())
    expected_t = 10.0 if narrows_towards == "head" else 70.0
    assert abs(t_mm - expected_t) <= 3.0
    assert width_mm == pytest.approx(2 * (14.0 + slope * (t_mm - 40.0)), abs=1.0)
    assert ("neck_narrowest_at_scan_limit" in flags) == (narrows_towards == "base")
