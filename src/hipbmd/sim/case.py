"""One virtual case, end to end: patient, CT with phantom, radiograph, DXA, and the truth behind them.

Files of a case (DESIGN.md, on-disk cohort format)::

    cases/<case_id>/ct.nii.gz or ct/ (DICOM series)   CT in HU with the calibration phantom
    cases/<case_id>/labels.nii.gz                      femurs, hip bones, sacrum, implant
    cases/<case_id>/xray.dcm                           the radiograph (DICOM DX)
    cases/<case_id>/truth.json                         everything the simulator knows (evaluation only)
    cases/<case_id>/truth/                             femur densities, femur DRRs, DXA-pose projection

Who the case is comes from :mod:`hipbmd.sim.case_draw`, what it is known to be is written by
:mod:`hipbmd.sim.truth`; this module makes the files a site would hand over.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from hipbmd.calibration.phantoms import load_phantom
from hipbmd.io.volume_writers import CTSeriesInfo, write_ct_series, write_nifti
from hipbmd.sim.anatomy import JointPose, build_surroundings, placement, with_femurs
from hipbmd.sim.case_draw import SIDES, CaseDraw, CaseRequest, case_streams, draw_case
from hipbmd.sim.case_truth import CaseTruth
from hipbmd.sim.ct import Scanner, simulate_ct
from hipbmd.sim.exam import (
    Positioning,
    coarse_line_integrals,
    draw_positioning,
    exam_geometry,
    framed,
    upsampled,
)
from hipbmd.sim.femur_shape import femur_landmarks
from hipbmd.sim.finishing import finish, write_radiograph_file
from hipbmd.sim.grid import Grid
from hipbmd.sim.phantom_rods import RodLayout, phantom_slab
from hipbmd.sim.population import Patient
from hipbmd.sim.radiograph_made import RadiographMade
from hipbmd.sim.random_style import RadiographStyle, radiograph_style
from hipbmd.sim.real_ct_anatomy import load_real_ct_anatomy
from hipbmd.sim.scanners import SCANNERS, SITE_SCANNERS
from hipbmd.sim.tissues import Tissues
from hipbmd.sim.truth import manifest_row, write_truth
from hipbmd.sim.xray import dx_acquisition, simulate_radiograph
from hipbmd.types import Side, Volume

# Scanned height about the hip centres: from above the acetabular roof to 6 cm below the lesser trochanter.
CT_RANGE_MM = (-140.0, 55.0)
XRAY_RANGE_MM = (-200.0, 210.0)  # anatomy built for the radiograph: above the iliac crests to mid-thigh
WORKING_SPACING_MM = 1.0


def simulate_case(request: CaseRequest, folder: Path) -> dict[str, Any]:
    """Simulate one case into ``folder`` (via ``<folder>.partial``); returns its manifest row."""
    streams = case_streams(request.seed, request.number)
    draw = draw_case(request, streams)
    patient = draw.patient
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    tissues = build_surroundings(patient, working_grid(patient, request.resolution.voxel_mm), streams["ct"])
    positioning = draw_positioning(streams["xray"])
    made = _simulate_radiograph_file(request, draw, positioning, tissues, streams["xray"], partial)
    tissues, ct_landmarks = with_femurs(tissues, patient, draw.joints_ct, copy=False)
    ct_record = _simulate_ct_files(request, draw, tissues, streams["ct"], partial)
    del tissues
    truth = write_truth(request, draw, made, ct_landmarks, ct_record, partial)
    (partial / "truth.json").write_text(json.dumps(truth, indent=1))
    _replace_folder(partial, folder)
    return manifest_row(CaseTruth.from_json(truth), folder)


def simulate_reposed_radiograph(request: CaseRequest, folder: Path, pose: int) -> Path:
    """The same patient's radiograph in another positioning, written in ``folder`` (``xray.dcm``, or the
    ``xray.png``/``xray.jpg`` of an export style); returns the file.

    Pose 0 is the case's own positioning (the file ``simulate_case`` writes); pose k ≥ 1 draws a new
    positioning and exposure from a generator seeded by (cohort seed, case number, k), so the patient,
    the anatomy, the site and the radiograph's style (drawn as for the case itself) are those of the case
    and only how they lie on the table changes. Used to measure how much an estimate moves with
    positioning alone.
    """
    streams = case_streams(request.seed, request.number)
    draw = draw_case(request, streams)
    grid = working_grid(draw.patient, request.resolution.voxel_mm)
    tissues = build_surroundings(draw.patient, grid, streams["ct"])
    rng = streams["xray"] if pose == 0 else np.random.default_rng([request.seed, request.number, 7001, pose])
    folder.mkdir(parents=True, exist_ok=True)
    positioning = draw_positioning(rng)
    made = _simulate_radiograph_file(
        request, draw, positioning, tissues, rng, folder, pose, _case_style(request)
    )
    return folder / made.file_name


def _case_style(request: CaseRequest) -> RadiographStyle:
    """The style of the case's own radiograph, drawn as :func:`simulate_case` draws it."""
    rng = case_streams(request.seed, request.number)["xray"]
    draw_positioning(rng)
    return radiograph_style(request.style, request.site, rng)


def simulate_ct_in_joint_pose(request: CaseRequest, folder: Path, joints: dict[Side, JointPose]) -> Path:
    """The case's CT and labels with its femurs at other hip joint angles; returns the CT's path.

    The patient, the rest of the anatomy, the scanner and its noise are the case's; only the femurs
    are rotated about their hips (``joints`` per side: flexion, abduction, external rotation). The
    femurs' own density does not change, so every CT-aBMD in the DXA position should stay the same:
    a re-posed patient scanned again, with no resampling of a scanned image involved.
    """
    streams = case_streams(request.seed, request.number)
    draw = replace(draw_case(request, streams), joints_ct=dict(joints))
    grid = working_grid(draw.patient, request.resolution.voxel_mm)
    tissues = build_surroundings(draw.patient, grid, streams["ct"])
    tissues, _ = with_femurs(tissues, draw.patient, draw.joints_ct, copy=False)
    folder.mkdir(parents=True, exist_ok=True)
    _simulate_ct_files(request, draw, tissues, streams["ct"], folder)
    return folder / "ct.nii.gz" if (folder / "ct.nii.gz").exists() else folder / "ct"


def _study_date(request: CaseRequest) -> dt.date:
    """A fixed, plausible examination date per case (files must not depend on the day they are made)."""
    return dt.date(2024, 1, 1) + dt.timedelta(days=(request.seed * 7919 + request.number) % 700)


def _simulate_ct_files(
    request: CaseRequest, draw: CaseDraw, tissues: Tissues, rng: np.random.Generator, folder: Path
) -> dict[str, Any]:
    """Phantom, CT and labels; returns what the truth records of the CT."""
    scanner = SCANNERS[SITE_SCANNERS[request.site]]
    scale = request.resolution.ct_scale
    scanner = replace(scanner, pixel_mm=scanner.pixel_mm * scale, slice_mm=scanner.slice_mm * scale)
    body = draw.patient.body
    back_y = body.centre_y_mm - body.depth_mm / 2
    slab = phantom_slab(tissues.grid, load_phantom(scanner.phantom), RodLayout(back_y - 1.0))
    drift = float(rng.normal(0.0, 0.005))
    ct, labels = simulate_ct(tissues, slab, scanner, CT_RANGE_MM, body.width_mm, rng, drift)
    _write_ct(ct, labels, folder, scanner, request, draw.patient)
    joints = {side: asdict(joint) for side, joint in draw.joints_ct.items()}
    return {
        "scanner": scanner.name,
        "phantom": scanner.phantom,
        "gain_drift": drift,
        "joints": joints,
        "phantom_rods": slab.rods,
        "phantom_material": slab.material,
    }


def _simulate_radiograph_file(
    request: CaseRequest,
    draw: CaseDraw,
    positioning: Positioning,
    surroundings: Tissues,
    rng: np.random.Generator,
    folder: Path,
    pose: int = 0,
    style: RadiographStyle | None = None,
) -> RadiographMade:
    """The radiograph as the site stores it (femurs in the radiograph's joint pose).

    The style (acquisition, processing, framing, finishing, file) is ``style`` when given, else the
    site's own, or drawn from ``rng`` first when the request asks for random styles.
    """
    if style is None:
        style = radiograph_style(request.style, request.site, rng)
    profile = style.profile
    patient = draw.patient
    positioning = framed(positioning, style.framing_offset_mm)
    places = {side: placement(patient, side, positioning.joints[side]) for side in SIDES}
    landmarks = {side: femur_landmarks(patient.femur_shapes[side], places[side]) for side in SIDES}
    exam = exam_geometry(patient, profile, positioning, landmarks, rng, request.resolution.xray_binning)
    femurs = [draw.femurs[side].tissue_change(places[side]) for side in SIDES]
    spacing = exam.camera.pixel_spacing_mm
    coarse = coarse_line_integrals(surroundings, exam.camera, femurs)
    image = simulate_radiograph(upsampled(coarse, exam.camera), spacing, exam.sid_mm, profile, rng)
    image = finish(image, style.finishing, profile.processing.bits_stored, spacing)
    tags = style.geometry
    acquisition = dx_acquisition(
        profile,
        exam.sid_mm,
        tags.distance_source_to_patient_mm(exam.sid_mm, exam.table_gap_mm, patient.body.depth_mm),
        spacing,
        patient.age_years,
        patient.sex,
        exam.side or "both",
        tags.calibrated_spacing_mm(spacing, exam.sid_mm / exam.sod_mm),
    )
    entropy = f"{request.seed}/{request.case_id}/dx" + (f"/pose{pose}" if pose else "")
    acquisition = replace(acquisition, study_date=_study_date(request), uid_entropy=entropy)
    path = write_radiograph_file(image, folder, acquisition, style.finishing, request.case_id)
    return RadiographMade(exam, positioning, style, path.name, coarse["ha"])


def working_grid(patient: Patient, voxel_mm: float = WORKING_SPACING_MM) -> Grid:
    """The 1 mm grid of the anatomy: the body's whole cross-section, the phantom, the radiograph's height."""
    body = patient.body
    back_y = body.centre_y_mm - body.depth_mm / 2
    low = (-body.width_mm / 2 - 6.0, back_y - 60.0, XRAY_RANGE_MM[0])
    high = (body.width_mm / 2 + 6.0, body.centre_y_mm + body.depth_mm / 2 + 6.0, XRAY_RANGE_MM[1])
    if patient.real_ct is not None:  # the scanned body may reach beyond its outline at the hips
        scan_low, scan_high = patient.real_ct.world_bounds(load_real_ct_anatomy())
        low = (min(low[0], scan_low[0]), low[1], low[2])
        high = (max(high[0], scan_high[0]), max(high[1], scan_high[1]), high[2])
    return Grid.covering(low, high, (voxel_mm,) * 3)


def _write_ct(
    ct: Volume, labels: Volume, folder: Path, scanner: Scanner, request: CaseRequest, patient: Patient
) -> None:
    """Write the CT (NIfTI or DICOM series, as the site does) and the labels."""
    write_nifti(labels, folder / "labels.nii.gz")
    if scanner.file_format == "dicom":
        info = CTSeriesInfo(
            request.case_id,
            patient.age_years,
            patient.sex,
            scanner.manufacturer,
            study_date=_study_date(request),
            uid_entropy=f"{request.seed}/{request.case_id}/ct",
            rle_lossless=True,
        )
        write_ct_series(ct, folder / "ct", info)
    else:
        write_nifti(ct, folder / "ct.nii.gz")


def _replace_folder(partial: Path, folder: Path) -> None:
    """Move the finished case into place (replacing an older copy)."""
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(partial, folder)
