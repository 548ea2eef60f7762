"""A small corpus of hostile inputs, built in-process: the files a hospital archive or a careless user
hands over. Used by tests/test_reliability and printed by benchmarks/hostile_inputs.py.

Each case is a command line (``hipbmd ...``) with the files it needs and what a correct run looks like:
the exit code and a phrase of its first stderr line (or of the reason in results.csv).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom

from hipbmd.io.dicom_dx import DXAcquisition, write_dx

ACQUISITION = DXAcquisition((0.5, 0.5), 1100.0, 950.0, uid_entropy="hostile", age_years=70.0, sex="F")


@dataclass(frozen=True)
class HostileCase:
    """One hostile input and what a correct run of ``command`` does with it.

    Attributes:
        name: short name of the case.
        command: the arguments after ``hipbmd`` (paths relative to the corpus folder).
        exit_code: the exit code expected.
        expect: a phrase expected in the first stderr line, or in the results' reason when the run
            succeeds with a reason per file.
        make: writes the case's files into the corpus folder.
        not_written: paths (relative to the folder) that must not exist after the run.
    """

    name: str
    command: tuple[str, ...]
    exit_code: int
    expect: str
    make: Callable[[Path], None]
    not_written: tuple[str, ...] = field(default_factory=tuple)


def _phantom_image(shape: tuple[int, int] = (400, 440)) -> np.ndarray:
    """A smooth bone-bright image with some structure (not a hip)."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return 100.0 + 50.0 * np.sin(rows / 9.0) * np.cos(cols / 13.0) + 0.2 * cols


def _dx(name: str, image: np.ndarray | None = None, **changes: object) -> Callable[[Path], None]:
    """A DX file of ``image`` (default: a structured non-hip image) with some attributes changed."""

    def make(folder: Path) -> None:
        path = write_dx(_phantom_image() if image is None else image, folder / name, ACQUISITION)
        if changes:
            dataset = pydicom.dcmread(path)
            for keyword, value in changes.items():
                setattr(dataset, keyword, value)
            dataset.save_as(path, enforce_file_format=True)

    return make


def _rgb(folder: Path) -> None:
    path = write_dx(_phantom_image(), folder / "rgb.dcm", ACQUISITION)
    dataset = pydicom.dcmread(path)
    grey = dataset.pixel_array.astype(np.uint8)
    rgb = np.stack([grey, grey, grey], axis=-1)
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation, dataset.PlanarConfiguration = 3, "RGB", 0
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 8, 8, 7
    del dataset.RescaleSlope, dataset.RescaleIntercept
    dataset.PixelData = rgb.tobytes()
    dataset.save_as(path, enforce_file_format=True)


def _truncated(folder: Path) -> None:
    path = write_dx(_phantom_image(), folder / "truncated.dcm", ACQUISITION)
    path.write_bytes(path.read_bytes()[:600])


def _text(folder: Path) -> None:
    (folder / "notes.dcm").write_text("this is not a DICOM file\n")


def _huge_header(folder: Path) -> None:
    path = write_dx(_phantom_image((16, 16)), folder / "huge.dcm", ACQUISITION)
    dataset = pydicom.dcmread(path)
    dataset.Rows, dataset.Columns = 60000, 60000
    dataset.save_as(path, enforce_file_format=True)


def _gzip_of_nothing(folder: Path) -> None:
    (folder / "empty.dcm.gz").write_bytes(gzip.compress(b""))


def _ct(name: str, fill: float | None) -> Callable[[Path], None]:
    """A small float CT: ``fill`` everywhere, or (None) a body of soft tissue and bone in air."""

    def make(folder: Path) -> None:
        rng = np.random.default_rng(0)
        if fill is None:
            i, j, _ = np.mgrid[0:32, 0:32, 0:20]
            body = (i - 15.5) ** 2 + (j - 15.5) ** 2 < 12.0**2
            bone = (i - 15.5) ** 2 + (j - 20.0) ** 2 < 3.0**2
            array = np.where(bone, 900.0, np.where(body, 40.0, -1000.0)) + rng.normal(0, 15.0, body.shape)
        else:
            array = np.full((32, 32, 20), fill)
        image = nib.Nifti1Image(array.astype(np.float32), np.diag([2.0, 2.0, 3.0, 1.0]))
        nib.save(image, folder / name)

    return make


def _ct_and_a_file(folder: Path) -> None:
    """A plausible CT, and a plain file where an output folder is asked for (unwritable for any user)."""
    _ct("ct.nii.gz", None)(folder)
    (folder / "notes.txt").write_text("a file, not a folder\n")


def _existing_folder_as_output(folder: Path) -> None:
    write_dx(_phantom_image(), folder / "plain.dcm", ACQUISITION)
    (folder / "taken.json").mkdir(exist_ok=True)


def _estimate(name: str) -> tuple[str, ...]:
    return ("estimate", name, "-o", "out")


BLANK = np.zeros((400, 400))
CASES: tuple[HostileCase, ...] = (
    HostileCase("text file as DICOM", _estimate("notes.dcm"), 2, "notes.dcm: not a DICOM", _text),
    HostileCase("truncated DICOM", _estimate("truncated.dcm"), 2, "truncated.dcm:", _truncated),
    HostileCase("empty gzip", _estimate("empty.dcm.gz"), 2, "empty.dcm.gz:", _gzip_of_nothing),
    HostileCase("all-zero image", _estimate("zero.dcm"), 0, "a blank image", _dx("zero.dcm", BLANK)),
    HostileCase("8x8 image", _estimate("tiny.dcm"), 0, "refused: 8 x 8 pixels", _dx("tiny.dcm", np.eye(8))),
    HostileCase(
        "RescaleSlope 0", _estimate("slope0.dcm"), 0, "a blank image", _dx("slope0.dcm", RescaleSlope="0")
    ),
    HostileCase(
        "RescaleSlope NaN", _estimate("nan.dcm"), 0, "not finite", _dx("nan.dcm", RescaleSlope="NaN")
    ),
    HostileCase(
        "spacing 0.001 mm",
        _estimate("fine.dcm"),
        0,
        "refused: pixel spacing 0.001",
        _dx("fine.dcm", ImagerPixelSpacing=[0.001, 0.001]),
    ),
    HostileCase(
        "spacing 30 mm",
        _estimate("coarse.dcm"),
        0,
        "refused: pixel spacing 30",
        _dx("coarse.dcm", ImagerPixelSpacing=[30.0, 30.0]),
    ),
    HostileCase(
        "60000 x 60000 header", _estimate("huge.dcm"), 0, "refused: 60000 x 60000 pixels", _huge_header
    ),
    HostileCase("RGB DICOM", _estimate("rgb.dcm"), 0, "converted to grey", _rgb),
    HostileCase("no hip on the image", _estimate("plain.dcm"), 0, "no_hip_found:", _dx("plain.dcm")),
    HostileCase(
        "output folder is a file",
        ("estimate", "plain.dcm", "-o", "plain.dcm"),
        2,
        "plain.dcm: is a file",
        _dx("plain.dcm"),
    ),
    HostileCase(
        "spacing inf", ("info", "plain.dcm", "--spacing-mm", "inf"), 2, "--spacing-mm", _dx("plain.dcm")
    ),
    HostileCase(
        "NaN CT",
        ("segment", "nan.nii.gz", "-o", "labels.nii.gz"),
        2,
        "not finite",
        _ct("nan.nii.gz", np.nan),
        ("labels.nii.gz",),
    ),
    HostileCase(
        "all-air CT",
        ("segment", "air.nii.gz", "-o", "labels.nii.gz"),
        2,
        "no body",
        _ct("air.nii.gz", -1000.0),
        ("labels.nii.gz",),
    ),
    HostileCase(
        "segment, uncertainty under a file",
        ("segment", "ct.nii.gz", "-o", "labels.nii.gz", "--uncertainty", "notes.txt/u.nii.gz"),
        2,
        "notes.txt/u.nii.gz: cannot be written",
        _ct_and_a_file,
        ("labels.nii.gz",),
    ),
    HostileCase(
        "calibrate to a path under a file",
        ("calibrate", "ct.nii.gz", "--slope", "1.2", "--intercept", "0", "-o", "notes.txt/c.json"),
        2,
        "notes.txt/c.json: cannot be written",
        _ct_and_a_file,
    ),
    HostileCase(
        "ct-bmd to a path under a file",
        ("ct-bmd", "ct.nii.gz", "--slope", "1.2", "--intercept", "0", "-o", "notes.txt/out"),
        2,
        "notes.txt/out: cannot be written",
        _ct_and_a_file,
    ),
)


@dataclass(frozen=True)
class Outcome:
    """What a run did: exit code, first stderr line, the reasons of results.csv and the records' input
    notes (estimate), and which of the files that must not be written were."""

    exit_code: int
    first_error_line: str
    reasons: tuple[str, ...]
    written: tuple[str, ...]


def recorded_reasons(output: Path) -> tuple[str, ...]:
    """The reasons of an estimate output folder's results.csv, then its records' input notes."""
    import csv
    import json

    results = output / "results.csv"
    if not results.is_file():
        return ()
    with results.open(newline="") as stream:
        reasons = tuple(row.get("reason") or row.get("error") or "" for row in csv.DictReader(stream))
    notes = (
        note
        for record in sorted(output.glob("*.json"))
        for note in json.loads(record.read_text()).get("input_notes", [])
    )
    return reasons + tuple(notes)


def run(case: HostileCase, folder: Path, timeout_s: float = 300.0) -> Outcome:
    """Run ``hipbmd <case.command>`` in ``folder`` as a user would, in a subprocess."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "hipbmd.cli", *case.command],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    reasons = recorded_reasons(folder / "out") if case.command[0] == "estimate" else ()
    written = tuple(name for name in case.not_written if (folder / name).exists())
    return Outcome(done.returncode, lines[0] if lines else "", reasons, written)


def build(folder: Path, cases: tuple[HostileCase, ...] = CASES) -> None:
    """Write every case's files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for case in cases:
        case.make(folder)
