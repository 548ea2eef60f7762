"""Calibrate a CT with the phantom in its field of view, or with a slope and intercept found elsewhere.

The rods are found as a row (:mod:`hipbmd.calibration.rods`); a phantom of N rods can lie on that row in a
few ways (rods without contrast at either end, and the row read in either direction). Each way is fitted
(:mod:`hipbmd.calibration.fit`); among those that give a line a scanner can give (HU rising with density,
a plausible slope and intercept), the one with the largest r is the calibration. When no phantom is
named, every built-in phantom of three or more rods is tried and the best fit names it. A fit with
r < 0.99 is refused. When the best row of blobs fits no phantom (a row of anatomical blobs can hold
more members than the phantom's), the next rows are tried (:func:`hipbmd.calibration.rods.find_rod_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipbmd.calibration.central_image import CentralImage
from hipbmd.calibration.fit import RodLine, fit_line, fit_mindways, plausible_line
from hipbmd.calibration.phantoms import Phantom, builtin_phantoms
from hipbmd.calibration.result import POOR_FIT_R, Calibration
from hipbmd.calibration.rods import RodMeasurement, RodRow, arrangements, find_rod_rows
from hipbmd.errors import InputError
from hipbmd.types import Volume

RESIDUAL_FLAG_FRACTION = 0.01  # flag a rod whose residual exceeds 1 % of the rods' density range
# A scanner on the water–air scale reads water within a few HU and air within ~10 HU of −1000 (≤ 1 %
# scale error): flag a Mindways fit whose water response is further from 1 than this.
WATER_SCALE_FLAG = 0.02
AMBIGUOUS_R = 0.999  # an identified phantom is flagged when another one fits with at least this r
NOT_FOUND = "calibration phantom not found"
_ALTERNATIVES = "give --slope and --intercept, or use --phantomless"


@dataclass(frozen=True)
class _Candidate:
    """One way a phantom lies on the row, fitted."""

    phantom: Phantom
    rods: list[RodMeasurement]
    line: RodLine  # the rods' fit (for Mindways: step 1, HU − ρ_water on ρ_K2HPO4)
    slope_hu_per_mg_cm3: float  # the calibration's slope (σ_CT for Mindways)
    intercept_hu: float  # the calibration's intercept (β_CT for Mindways)
    water_hu_per_mg_cm3: float | None = None  # Mindways: the rods' water response a, when fitted


def calibrate_with_phantom(volume: Volume, phantom: Phantom | None = None, source: str = "CT") -> Calibration:
    """Find the phantom's rods in a HU volume and fit HU → mg/cm³.

    Args:
        volume: the CT in HU, RAS index order (as :func:`hipbmd.io.ct.read_ct` returns it).
        phantom: the phantom in the scan; None to identify it among the built-in ones.
        source: the CT's name for messages and the record.

    Raises:
        InputError: no row of rods, rods that match no phantom, or a poor fit (r < 0.99).
    """
    candidates = [phantom] if phantom is not None else _auto_phantoms()
    _check_phantoms(candidates, source)
    image = CentralImage.of(volume)
    most = max(len(p.densities_mg_cm3) for p in candidates)
    fewest = min(3, min(len(p.densities_mg_cm3) for p in candidates))
    refusals: list[str] = []
    for found in find_rod_rows(image, most, fewest):
        outcome = _calibrate_row(image, found, candidates, phantom is None, source)
        if isinstance(outcome, Calibration):
            return outcome
        refusals.append(outcome)
    if not refusals:
        raise InputError(source, f"{NOT_FOUND} (no row of equally spaced rods); {_ALTERNATIVES}")
    raise InputError(source, refusals[0])


def _calibrate_row(
    image: CentralImage, found: RodRow, candidates: list[Phantom], automatic: bool, source: str
) -> Calibration | str:
    """The calibration from one row of rods, or why the row is refused."""
    fits = [
        _fitted(p, rods)
        for p in candidates
        if found.row.span <= len(p.densities_mg_cm3)
        for rods in arrangements(image, found, len(p.densities_mg_cm3))
    ]
    plausible = [f for f in fits if _plausible(f)]
    if not plausible:
        names = ", ".join(p.name for p in candidates)
        return f"{NOT_FOUND}: {found.row.span} rods in a row fit no phantom ({names})"
    best = max(plausible, key=lambda f: f.line.r)
    if best.line.r < POOR_FIT_R:
        return (
            f"calibration fit is poor with {best.phantom.name}: r = {best.line.r:.4f} < {POOR_FIT_R}; "
            f"check the phantom (--phantom) or {_ALTERNATIVES}"
        )
    others = [f for f in plausible if f.phantom.name != best.phantom.name and f.line.r >= AMBIGUOUS_R]
    runner_up = max(others, key=lambda f: f.line.r) if automatic and others else None
    return _calibration(best, automatic=automatic, source=source, runner_up=runner_up)


def manual_calibration(slope_hu_per_mg_cm3: float, intercept_hu: float, source: str = "CT") -> Calibration:
    """A calibration line found elsewhere (e.g. by the site's own QCT software)."""
    return Calibration(
        "manual",
        float(slope_hu_per_mg_cm3),
        float(intercept_hu),
        flags=("slope and intercept given by the user (calibrated elsewhere)",),
        source=source,
    )


def _plausible(fit: _Candidate) -> bool:
    """Whether HU rise with the rods' density on a line a CT scanner can give."""
    return fit.line.slope_hu_per_mg_cm3 > 0 and plausible_line(fit.slope_hu_per_mg_cm3, fit.intercept_hu)


def _auto_phantoms() -> list[Phantom]:
    """Built-in phantoms with three rods or more (two rods always fit a line perfectly)."""
    return [p for p in builtin_phantoms().values() if len(p.densities_mg_cm3) >= 3]


def _check_phantoms(phantoms: list[Phantom], source: str) -> None:
    for phantom in phantoms:
        if phantom.material == "K2HPO4" and phantom.water_mg_cm3 is None:
            raise InputError(source, f"K2HPO4 phantom {phantom.name!r} needs water_mg_cm3 for its fit")


def _fitted(phantom: Phantom, rods: list[RodMeasurement]) -> _Candidate:
    hu = [rod.mean_hu for rod in rods]
    if phantom.material == "K2HPO4":
        assert phantom.water_mg_cm3 is not None  # checked by _check_phantoms
        mindways = fit_mindways(phantom.densities_mg_cm3, phantom.water_mg_cm3, hu)
        water = mindways.water_hu_per_mg_cm3 if mindways.water_fitted else None
        return _Candidate(phantom, rods, mindways.rods, mindways.sigma_ct, mindways.beta_ct, water)
    line = fit_line(phantom.densities_mg_cm3, hu)
    return _Candidate(phantom, rods, line, line.slope_hu_per_mg_cm3, line.intercept_hu)


def _calibration(
    best: _Candidate, automatic: bool, source: str, runner_up: _Candidate | None = None
) -> Calibration:
    phantom, line = best.phantom, best.line
    densities = tuple(float(d) for d in phantom.densities_mg_cm3)
    details = {}
    if phantom.material == "K2HPO4":
        details = {"sigma_ref": line.slope_hu_per_mg_cm3, "beta_ref": line.intercept_hu}
        if best.water_hu_per_mg_cm3 is not None:
            details["water_hu_per_mg_cm3"] = best.water_hu_per_mg_cm3
    return Calibration(
        "phantom",
        best.slope_hu_per_mg_cm3,
        best.intercept_hu,
        material=phantom.material,
        phantom=phantom.name,
        r=line.r,
        rods=tuple(best.rods),
        rod_densities_mg_cm3=densities,
        residuals_mg_cm3=line.residuals_mg_cm3,
        flags=tuple(_flags(best, densities, automatic, runner_up)),
        details=details,
        source=source,
    )


def _flags(
    best: _Candidate, densities: tuple[float, ...], automatic: bool, runner_up: _Candidate | None
) -> list[str]:
    flags = []
    if automatic:
        flags.append(f"phantom identified automatically as {best.phantom.name} (name it with --phantom)")
    if runner_up is not None:
        flags.append(f"{runner_up.phantom.name} fits almost as well (r = {runner_up.line.r:.5f})")
    placed = [f"{d:g}" for d, rod in zip(densities, best.rods, strict=True) if not rod.detected]
    if placed:
        flags.append(f"rods of {', '.join(placed)} mg/cm3 had no contrast: placed from the row's spacing")
    worst = float(np.max(np.abs(best.line.residuals_mg_cm3)))
    if worst > RESIDUAL_FLAG_FRACTION * np.ptp(densities):
        flags.append(f"largest rod residual {worst:.1f} mg/cm3 exceeds 1 % of the rods' range")
    if best.phantom.material == "K2HPO4":
        flags.append("density is K2HPO4-equivalent (Mindways two-component fit), not hydroxyapatite")
    water = best.water_hu_per_mg_cm3
    if water is not None and abs(water - 1.0) > WATER_SCALE_FLAG:
        flags.append(
            f"the rods' water reads {water:.3f} HU per mg/cm3 (1 on the water-air scale): the scanner's CT "
            "numbers are off scale; the fit corrects for it"
        )
    return flags
