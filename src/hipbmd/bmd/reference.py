"""Reference values that turn an aBMD into a T-score or a percentage of the young adult mean (%YAM).

T-score reference (built in): NHANES III, non-Hispanic white women aged 20–29, measured on Hologic QDR
scanners (Looker AC et al., "Updated data on proximal femur bone mineral levels of US adults",
Osteoporos Int 1998;8:468–489): femoral neck 0.858 ± 0.120 g/cm², total hip 0.942 ± 0.122 g/cm²
(mean ± SD). These are the values in common use (the femoral-neck pair is the reference standard of
Kanis JA et al., Bone 2008;42:467–475); they were not re-read from the paper's tables here. The ISCD
Official Positions use this white female reference for women and men of every ethnicity. The
Osaka group's ``proximal_femur`` region has no NHANES counterpart, so it has no T-score reference.

%YAM reference (never built in): the Japanese criteria (JSBMR/JOS 2012; Soen S et al., J Bone Miner Metab
2013;31:247–257) compare aBMD with the young adult mean (YAM, ages 20–29 for the proximal femur) of the
scanner's own Japanese reference database. YAM values differ between manufacturers and models, so the
user supplies them as a table (:func:`load_yam_table`); hipbmd ships none and invents none.

YAM table file, CSV (header row; lines starting with ``#`` are comments) or JSON (a list of objects, or
an object with an ``entries`` list), with the fields::

    roi,yam_g_cm2,sd_g_cm2,device
    neck,<mean>,<sd>,<scanner model>

``roi`` and ``yam_g_cm2`` are required; ``sd_g_cm2`` and ``device`` may be omitted or left empty.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from hipbmd.errors import InputError
from hipbmd.femur.roi import ROI_NAMES

NHANES_III_SOURCE = (
    "NHANES III, non-Hispanic white women aged 20-29, Hologic "
    "(Looker AC et al., Osteoporos Int 1998;8:468-489)"
)
YAM_FIELDS = ("roi", "yam_g_cm2", "sd_g_cm2", "device")
# A wide guard against a table written in mg/cm² or in percent, not a clinical range: young-adult
# proximal-femur means are near 1 g/cm² on every DXA make (NHANES III above: 0.86 and 0.94 g/cm²).
PLAUSIBLE_YAM_G_CM2 = (0.3, 2.0)


@dataclass(frozen=True)
class YoungReference:
    """Young-adult mean and SD of one region, against which a T-score is computed.

    Attributes:
        roi: region name ("neck", "total_hip", "proximal_femur").
        mean_g_cm2: young-adult mean aBMD (g/cm²).
        sd_g_cm2: young-adult standard deviation (g/cm²).
        source: where the numbers come from (population, scanner, citation).
    """

    roi: str
    mean_g_cm2: float
    sd_g_cm2: float
    source: str


NHANES_III_NECK = YoungReference("neck", 0.858, 0.120, NHANES_III_SOURCE)
NHANES_III_TOTAL_HIP = YoungReference("total_hip", 0.942, 0.122, NHANES_III_SOURCE)
NHANES_III: Mapping[str, YoungReference] = MappingProxyType(
    {"neck": NHANES_III_NECK, "total_hip": NHANES_III_TOTAL_HIP}
)


def t_reference(roi: str, table: Mapping[str, YoungReference] = NHANES_III) -> YoungReference | None:
    """The young-adult reference of ``roi`` in ``table``, None for a region the table has no entry for.

    Raises:
        ValueError: ``roi`` is not one of hipbmd's region names.
    """
    check_roi_name(roi)
    return table.get(roi)


def check_roi_name(roi: str) -> None:
    """Raise ValueError unless ``roi`` is one of :data:`hipbmd.femur.roi.ROI_NAMES`."""
    if roi not in ROI_NAMES:
        raise ValueError(f"unknown region {roi!r} (known: {', '.join(ROI_NAMES)})")


@dataclass(frozen=True)
class YAMEntry:
    """The young adult mean of one region on one scanner, as the user supplied it.

    Attributes:
        roi: region name ("neck", "total_hip", "proximal_femur").
        yam_g_cm2: young adult mean aBMD (g/cm²).
        sd_g_cm2: its standard deviation (g/cm²), if given.
        device: the scanner the value belongs to, if given.
    """

    roi: str
    yam_g_cm2: float
    sd_g_cm2: float | None = None
    device: str | None = None


@dataclass(frozen=True)
class YAMTable:
    """A user-supplied table of young adult means, one entry per region.

    Attributes:
        entries: region name → entry.
        source: the file it was read from.
    """

    entries: Mapping[str, YAMEntry]
    source: str

    def yam_g_cm2(self, roi: str) -> float | None:
        """The young adult mean of ``roi`` (g/cm²), None when the table has no entry for it."""
        check_roi_name(roi)
        entry = self.entries.get(roi)
        return entry.yam_g_cm2 if entry is not None else None


def load_yam_table(path: str | Path, device: str | None = None) -> YAMTable:
    """Read a user's table of young adult means (CSV or JSON; the format is in the module docstring).

    Args:
        path: the table file.
        device: keep only the rows of this scanner (case-insensitive); needed when the file lists
            several scanners for one region.

    Raises:
        InputError: the file cannot be read, a field is missing, unknown or not a number, a value is
            outside :data:`PLAUSIBLE_YAM_G_CM2` (g/cm²), a region is unknown or listed twice, or no
            row is left.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot read the YAM table ({error})") from error
    try:
        rows = _json_rows(text) if text.lstrip()[:1] in ("[", "{") else _csv_rows(text)
        entries = [_entry(row, number) for number, row in enumerate(rows, start=1)]
        return YAMTable(MappingProxyType(_select(entries, device)), str(path))
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        raise InputError(path, f"not a usable YAM table: {error}") from error


def _csv_rows(text: str) -> list[dict[str, object]]:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    fields = [name.strip() for name in reader.fieldnames or []]
    _check_fields(fields)
    reader.fieldnames = fields
    rows: list[dict[str, object]] = []
    for row in reader:
        if None in row:
            raise ValueError(f"row {len(rows) + 1} has more cells than the header")
        rows.append(dict(row))
    return rows


def _json_rows(text: str) -> list[dict[str, object]]:
    data = json.loads(text)
    if isinstance(data, dict):
        if "entries" not in data:
            raise ValueError('a JSON object needs an "entries" list')
        data = data["entries"]
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise ValueError("JSON must be a list of objects (or an object with an entries list)")
    for row in data:
        _check_fields(row)
    return data


def _check_fields(fields: Iterable[str]) -> None:
    names = [str(name).strip() for name in fields]
    unknown = sorted(set(names) - set(YAM_FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)} (fields: {', '.join(YAM_FIELDS)})")
    missing = [name for name in YAM_FIELDS[:2] if name not in names]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)} (fields: {', '.join(YAM_FIELDS)})")


def _entry(row: Mapping[str, object], number: int) -> YAMEntry:
    roi = str(row.get("roi") or "").strip()
    try:
        check_roi_name(roi)
        yam = _number(row.get("yam_g_cm2"), "yam_g_cm2")
        if yam is None:
            raise ValueError("yam_g_cm2 is empty")
        low, high = PLAUSIBLE_YAM_G_CM2
        if not low <= yam <= high:
            raise ValueError(f"yam_g_cm2 = {yam:g} is outside {low:g}-{high:g} g/cm² (mg/cm² or %?)")
        sd = _number(row.get("sd_g_cm2"), "sd_g_cm2")
        if sd is not None and not 0.0 < sd < yam:
            raise ValueError(f"sd_g_cm2 = {sd:g} is not between 0 and the mean")
    except ValueError as error:
        raise ValueError(f"row {number}: {error}") from error
    device = str(row.get("device") or "").strip() or None
    return YAMEntry(roi, yam, sd, device)


def _number(value: object, name: str) -> float | None:
    """A finite float from a cell or JSON value; None for an empty cell or a JSON null."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} is not a number: {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} is not finite: {value!r}")
    return number


def _select(entries: list[YAMEntry], device: str | None) -> dict[str, YAMEntry]:
    """Region → entry for the chosen device; an error when a region remains ambiguous or none is left."""
    if device is not None:
        devices = sorted({entry.device for entry in entries if entry.device})
        entries = [e for e in entries if e.device and e.device.casefold() == device.strip().casefold()]
        if not entries:
            raise ValueError(f"no rows for device {device!r} (devices: {', '.join(devices) or 'none named'})")
    if not entries:
        raise ValueError("no rows")
    chosen: dict[str, YAMEntry] = {}
    for entry in entries:
        if entry.roi in chosen:
            raise ValueError(f"region {entry.roi!r} is listed more than once; choose a device")
        chosen[entry.roi] = entry
    return chosen
