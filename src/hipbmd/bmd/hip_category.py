"""A hip's WHO category by the ISCD rule, with its probability, or the stated reason it is withheld.

The category is that of the lowest T-score of the femoral neck and the total hip (ISCD Official
Positions 2019), given when its probability (a lower bound valid whatever the two regions' errors'
dependence; :func:`hipbmd.bmd.category_confidence.who_category_call`) reaches the confidence asked for.
It is withheld, with the reason in the record and on the overlay, when:

* a flag withholds it (:data:`hipbmd.bmd.qc.WITHHOLDING`: an implant, a doubtful localisation, a hip
  out of the calibration cohort's distribution, a model without a DXA line or calibrated intervals, a
  patient under 20);
* a region has no DXA-equivalent number or no calibrated error;
* no category reaches the confidence (``uncertain_category``: the likeliest and its probability).
"""

from __future__ import annotations

from hipbmd.bmd.category_confidence import RegionTail, who_category_call
from hipbmd.bmd.qc import withholding_flag
from hipbmd.bmd.record_parts import HipCategory, ROIMeasurement


def hip_category(measurements: list[ROIMeasurement], flags: list[str], confidence: float) -> HipCategory:
    """The hip's category from its regions' tail probabilities, or why it is withheld (module docstring)."""
    flag = withholding_flag(flags)
    if flag is not None:
        return HipCategory(None, None, None, confidence, flag)
    missing = [m.roi for m in measurements if m.p_osteoporosis is None or m.p_below_normal is None]
    if missing or not measurements:
        why = f"not_measured: {', '.join(missing)}" if missing else "not_measured"
        return HipCategory(None, None, None, confidence, why)
    tails = [
        RegionTail(m.roi, float(m.p_osteoporosis or 0.0), float(m.p_below_normal or 0.0))
        for m in measurements
    ]
    call = who_category_call(tails, confidence)
    if call.category is None:
        why = f"uncertain_category: {call.likeliest} at probability {call.probability:.2f} < {confidence:.2f}"
        return HipCategory(None, call.probability, call.likeliest, confidence, why)
    return HipCategory(call.category, call.probability, call.likeliest, confidence)
