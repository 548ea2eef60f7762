"""``results.csv``: the estimate records of a folder as one table, a row per hip and ROI.

Every file has at least one row: a file without a hip measured has one row with its ``reason``
(``error: …``, ``refused: …``, ``no_hip_found: …``); a hip without measurements one row without ``roi``. The
table is rebuilt from all records in a folder and replaced whole, under a name of its own per writer,
so runs writing into one folder at once never leave half a table. ``hipbmd evaluate`` reads it back
through :meth:`ResultRow.from_csv`.
"""

from __future__ import annotations

import csv
import io
import math
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from hipbmd.bmd.classify import JOSCategory, WHOCategory
from hipbmd.bmd.record import EstimateRecord
from hipbmd.femur.roi import ROI_NAMES

CSV_COLUMNS = (
    "file",
    "side",
    "roi",
    "abmd_g_cm2",
    "interval_low_g_cm2",
    "interval_high_g_cm2",
    "t_score",
    "yam_percent",
    "who_category",
    "jos_category",
    "error_sd_g_cm2",
    "p_osteoporosis",
    "p_below_normal",
    "hip_who_category",
    "hip_category_probability",
    "category_withheld",
    "raw_roi_mean_g_cm2",
    "flags",
    "error",
    "reason",
)
REQUIRED_COLUMNS = ("file", "side", "roi", "abmd_g_cm2")

Cell = str | float | None


@dataclass(frozen=True)
class ResultRow:
    """One row of ``results.csv``: a hip's ROI, or a file or hip without one.

    Attributes:
        file: the radiograph as given to ``hipbmd estimate``.
        side: the hip's side ("right"/"left"); empty for a failed file.
        roi: the region; empty for a hip without measurements or a failed file.
        abmd_g_cm2: DXA-equivalent aBMD, g/cm²; None when withheld.
        interval_low_g_cm2, interval_high_g_cm2: its 95 % interval, g/cm².
        t_score, yam_percent, who_category, jos_category: the interpretation (None when withheld).
        error_sd_g_cm2: the calibrated SD of the estimate's error, g/cm².
        p_osteoporosis, p_below_normal: the chances that the region's DXA T-score is ≤ −2.5 and < −1.
        hip_who_category: the hip's category by the ISCD rule (lowest T of neck and total hip).
        hip_category_probability: the probability (lower bound) of the hip's likeliest category.
        category_withheld: why the hip's category is withheld; empty when given.
        raw_roi_mean_g_cm2: the ROI's mean on the predicted DRR before the DXA line, g/cm².
        flags: the hip's flags joined with "; ".
        error: why the file could not be read or processed; empty otherwise.
        reason: why the file or hip has no number, one line (``error: …``, ``refused: …``,
            ``no_hip_found: …``); empty for a hip measured or withheld with flags.
        line: the line of the CSV the row was read from (None for a row made from a record).
    """

    file: str
    side: str = ""
    roi: str = ""
    abmd_g_cm2: float | None = None
    interval_low_g_cm2: float | None = None
    interval_high_g_cm2: float | None = None
    t_score: float | None = None
    yam_percent: float | None = None
    who_category: str | None = None
    jos_category: str | None = None
    error_sd_g_cm2: float | None = None
    p_osteoporosis: float | None = None
    p_below_normal: float | None = None
    hip_who_category: str | None = None
    hip_category_probability: float | None = None
    category_withheld: str = ""
    raw_roi_mean_g_cm2: float | None = None
    flags: str = ""
    error: str = ""
    reason: str = ""
    line: int | None = None

    def to_csv(self) -> dict[str, Cell]:
        """The row's cells by column (None writes an empty cell)."""
        return {column: getattr(self, column) for column in CSV_COLUMNS}

    @classmethod
    def from_csv(cls, cells: Mapping[str, str | None], line: int | None = None) -> ResultRow:
        """Inverse of :meth:`to_csv`, checking each cell.

        Raises:
            ValueError: a cell that is not a finite number, a known category or a known ROI; the message
                names the column.
        """
        read = CellReader(cells)
        roi = read.text("roi")
        if roi and roi not in ROI_NAMES:
            raise ValueError(f"unknown roi {roi!r} (known: {', '.join(ROI_NAMES)})")
        return cls(
            read.text("file"),
            read.text("side").lower(),
            roi,
            read.number("abmd_g_cm2"),
            read.number("interval_low_g_cm2"),
            read.number("interval_high_g_cm2"),
            read.number("t_score"),
            read.number("yam_percent"),
            read.category("who_category", get_args(WHOCategory)),
            read.category("jos_category", get_args(JOSCategory)),
            read.number("error_sd_g_cm2"),
            read.number("p_osteoporosis"),
            read.number("p_below_normal"),
            read.category("hip_who_category", get_args(WHOCategory)),
            read.number("hip_category_probability"),
            read.text("category_withheld"),
            read.number("raw_roi_mean_g_cm2"),
            read.text("flags"),
            read.text("error"),
            read.text("reason"),
            line,
        )


def result_rows(record: EstimateRecord) -> list[ResultRow]:
    """One row per hip and ROI (one row per hip without measurements, one for a failed file)."""
    if record.reason is not None and not record.hips:
        return [ResultRow(record.source, error=record.error or "", reason=record.reason)]
    rows = []
    for hip in record.hips:
        flags = "; ".join(hip.flags)
        if not hip.measurements:
            rows.append(ResultRow(record.source, hip.side, flags=flags))
        category = hip.category
        for m in hip.measurements:
            low, high = m.interval_g_cm2 or (None, None)
            rows.append(
                ResultRow(
                    record.source,
                    hip.side,
                    m.roi,
                    m.abmd_g_cm2,
                    low,
                    high,
                    m.t_score,
                    m.yam_percent,
                    m.who_category,
                    m.jos_category,
                    m.error_sd_g_cm2,
                    m.p_osteoporosis,
                    m.p_below_normal,
                    None if category is None else category.who_category,
                    None if category is None else category.probability,
                    "" if category is None else (category.withheld or ""),
                    hip.raw_roi_mean_g_cm2.get(m.roi),
                    flags,
                )
            )
    return rows


def write_results_csv(path: Path, records: Iterable[EstimateRecord]) -> Path:
    """Write the rows of ``records`` as ``path`` in one rename (a temporary name of its own per writer)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(row.to_csv() for record in records for row in result_rows(record))
    temporary = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
    try:
        with temporary.open("x", newline="") as stream:
            stream.write(text.getvalue())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class CellReader:
    """Typed access to the cells of one CSV row; a bad cell is a ValueError naming the column."""

    cells: Mapping[str, str | None]

    def text(self, column: str) -> str:
        return (self.cells.get(column) or "").strip()

    def category(self, column: str, known: tuple[str, ...]) -> str | None:
        value = self.text(column)
        if value and value not in known:
            raise ValueError(f"{column} {value!r} is not one of {', '.join(known)}")
        return value or None

    def number(self, column: str) -> float | None:
        value = self.text(column)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{column} is not a number: {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"{column} is not finite: {value!r}")
        return number
