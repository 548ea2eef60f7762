"""Calibrate a decomposition model's intervals on cohorts held out of its training.

Every case's radiograph goes through :func:`hipbmd.bmd.estimate.estimate_hips`, as ``hipbmd estimate``
runs it (same localiser, regions and Monte-Carlo samples). A case's index hip (the side its DXA was taken
on) is a calibration hip when the localiser found it (head centre within :data:`FOUND_MM` of the truth's,
at the detector), it has no implant, and both regions were measured. The fit
(:func:`hipbmd.bmd.interval_calibration.fit_interval_calibration`) is stored in the model's
``model.json`` as ``interval_calibration``; the weights are not touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hipbmd.bmd.estimate import REPORTED_ROIS, EstimateSettings, estimate_hips
from hipbmd.bmd.interval_calibration import CalibrationHip, IntervalCalibration, fit_interval_calibration
from hipbmd.errors import InputError
from hipbmd.io.records import write_text_atomic

if TYPE_CHECKING:
    from hipbmd.decomposition.model_files import DecompositionModel
    from hipbmd.localisation.network import HipLocaliser

FOUND_MM = 5.0
MANIFEST_FILE = "model.json"


def calibration_hips(
    cohorts: Sequence[Path],
    model: DecompositionModel,
    localiser: HipLocaliser,
    samples: int = 8,
    on_case: Callable[[int, int], None] | None = None,
) -> list[CalibrationHip]:
    """The cohorts' calibration hips (module docstring), measured with ``samples`` Monte-Carlo samples.

    Raises:
        InputError: not a cohort folder.
    """
    from hipbmd.decomposition.data import case_rows
    from hipbmd.sim.case_truth import CaseTruth, read_case_radiograph

    cases = [(cohort, row) for cohort in cohorts for row in case_rows(cohort)]
    hips = []
    for done, (cohort, row) in enumerate(cases, start=1):
        truth = CaseTruth.read(cohort / "cases" / row["case_id"])
        if truth.implant_side != truth.index_side:
            radiograph = read_case_radiograph(cohort / row["xray"], truth)
            result = estimate_hips(radiograph, model, localiser, EstimateSettings(samples))
            head = truth.head_centre_px(truth.index_side)
            spacing = np.asarray(truth.radiograph.pixel_spacing_mm)
            for hip in result.hips:
                offset_mm = float(np.hypot(*((np.asarray(hip.location.head_centre_px) - head) * spacing)))
                measured = all(roi in hip.raw_abmd_g_cm2 for roi in REPORTED_ROIS)
                # a hip partly beyond the edge has its own widening (region_coverage): not counted twice
                whole = not any(hip.off_image_shares.values())
                if offset_mm <= FOUND_MM and measured and whole and hip.evidence is not None:
                    dxa = {roi: float(truth.dxa_g_cm2[roi]) for roi in REPORTED_ROIS}
                    group = row.get("style") or row.get("site", "")
                    hips.append(CalibrationHip(dict(hip.raw_abmd_g_cm2), dxa, hip.evidence, group))
                    break
        if on_case is not None:
            on_case(done, len(cases))
    return hips


def calibrate_model_intervals(
    model_folder: Path,
    cohorts: Sequence[Path],
    localiser: HipLocaliser,
    samples: int = 8,
    on_case: Callable[[int, int], None] | None = None,
) -> IntervalCalibration:
    """Fit the interval calibration of the model in ``model_folder`` on the hips of ``cohorts`` together
    and store it in the folder's ``model.json`` (replacing an earlier one).

    Raises:
        InputError: not a model or cohort folder, or too few calibration hips.
    """
    from hipbmd.decomposition.fit_model import cohort_description
    from hipbmd.decomposition.model_files import load_decomposition_model

    model = load_decomposition_model(model_folder)
    model.manifest.pop("interval_calibration", None)  # the raw values need none; an old one may not read
    hips = calibration_hips(cohorts, model, localiser, samples, on_case)
    try:
        fitted = fit_interval_calibration(hips)
    except ValueError as error:
        raise InputError(cohorts[0], str(error)) from None
    described = [cohort_description(cohort) for cohort in cohorts]
    calibration = IntervalCalibration(fitted.regions, fitted.ood, fitted.coverage, described, samples)
    _store(model_folder / MANIFEST_FILE, calibration, len(hips))
    return calibration


def _store(manifest_path: Path, calibration: IntervalCalibration, hips: int) -> None:
    """Write the calibration into the manifest (atomically: a failure leaves the manifest as it was)."""
    manifest = json.loads(manifest_path.read_text())
    manifest["interval_calibration"] = {**calibration.to_dict(), "hips": hips}
    write_text_atomic(manifest_path, json.dumps(manifest, indent=2) + "\n")
