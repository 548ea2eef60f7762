"""The per-file work of ``hipbmd estimate``: the inputs of a part, what is finished, one record per file.

Inputs, record names and parts: :mod:`hipbmd.bmd.batch_inputs`; what counts as finished (and is skipped
unless ``overwrite``): :meth:`hipbmd.bmd.record.EstimateRecord.is_finished`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from hipbmd.bmd.record import EstimateRecord, read_records
from hipbmd.bmd.record_parts import EstimateOptions, ModelReference, RadiographSummary
from hipbmd.io.input_digest import radiograph_digest
from hipbmd.io.radiograph_bounds import check_radiograph

if TYPE_CHECKING:
    from hipbmd.bmd.estimate import HipEstimate
    from hipbmd.bmd.reference import YAMTable
    from hipbmd.decomposition.model_files import DecompositionModel
    from hipbmd.localisation.network import HipLocaliser
    from hipbmd.types import Radiograph

FileStatus = Literal["done", "skipped", "failed"]


def named_inputs(
    inputs: Sequence[str | Path],
    manifest: str | Path | None,
    part: str | tuple[int, int] | None,
    output: Path,
) -> list[tuple[Path, str]]:
    """(path, record name) of the inputs of this part, sorted by path (:mod:`hipbmd.bmd.batch_inputs`)."""
    from hipbmd.bmd.batch_inputs import collect_inputs, parse_part, record_names, select_part

    chosen = parse_part(part) if isinstance(part, str) else part
    paths = collect_inputs([Path(p) for p in inputs], None if manifest is None else Path(manifest), output)
    if not paths:
        raise ValueError("no radiographs given: name files, folders or a --manifest")
    named = list(zip(paths, record_names(paths), strict=True))
    return named if chosen is None else select_part(named, chosen)


class Batch:
    """The per-file step of ``hipbmd estimate``: skip what is finished, else estimate and write the record.

    Args:
        folder: the output folder (records, overlays).
        model: the decomposition model (:class:`~hipbmd.decomposition.model_files.DecompositionModel`).
        localiser: the hip localiser (:class:`~hipbmd.localisation.network.HipLocaliser`).
        yam: the young-adult-mean table, if any.
        options: the run's options, recorded in every record.
        overwrite: redo finished records too.
        dicom: also write the DICOM SR and SC of each result from a DICOM source
            (:mod:`hipbmd.bmd.dicom_files`).
    """

    def __init__(
        self,
        folder: Path,
        model: DecompositionModel,
        localiser: HipLocaliser,
        yam: YAMTable | None,
        options: EstimateOptions,
        overwrite: bool,
        dicom: bool = False,
    ) -> None:
        self.folder, self.model, self.localiser, self.yam = folder, model, localiser, yam
        self.options, self.overwrite, self.dicom = options, overwrite, dicom
        self.localiser_sha256 = localiser.manifest.get("weights", {}).get("sha256")
        existing = read_records(folder)
        self.by_source = {_same_file(record.source): (name, record) for name, record in existing}
        self.sources = {name: _same_file(record.source) for name, record in existing}

    def run(self, path: Path, name: str) -> tuple[EstimateRecord, FileStatus, str]:
        """(record, status, record name) of one input; no exception escapes it but an interrupt."""
        from hipbmd.bmd.batch_inputs import path_digest

        key = _same_file(str(path))
        previous = self.by_source.get(key)
        if self.sources.get(name, key) != key:  # the name holds another file's record: keep both
            name = f"{name}-{path_digest(key)}"
        try:
            record = self._record_of(path, name, previous)
        except MemoryError:
            record = EstimateRecord.failed(str(path), "out of memory while estimating this file")
        except Exception as error:  # a bug must not abort the batch: the file gets its error
            record = EstimateRecord.failed(str(path), f"unexpected {type(error).__name__}: {error}")
        status: FileStatus = "failed" if record.error is not None else "done"
        if previous is not None and record is previous[1]:
            status, name = "skipped", previous[0]
            self._dicom_results(record, name)
        else:
            record = self._dicom_results(record, name)
            self._write(record, name)
            if previous is not None and previous[0] != name:  # the file's old record, under another name
                for suffix in (".json", ".png"):
                    (self.folder / f"{previous[0]}{suffix}").unlink(missing_ok=True)
        return record, status, name

    def _record_of(
        self, path: Path, stem: str, previous: tuple[str, EstimateRecord] | None
    ) -> EstimateRecord:
        """The previous record when it is finished for this very input, else a new one (its overlay
        written)."""
        from hipbmd.errors import InputError, InputRefusedError

        try:
            radiograph, notes = _read(path, self.options.spacing_mm)
        except InputRefusedError as error:  # a header out of bounds, refused before decoding
            return EstimateRecord(str(path), refused=error.problem)
        except InputError as error:
            return EstimateRecord.failed(str(path), error.problem)
        except OSError as error:  # a file that exists but cannot be read (permissions, a lost share)
            problem = error.strerror or type(error).__name__
            return EstimateRecord.failed(str(path), f"cannot be read ({problem})")
        digest = radiograph_digest(radiograph)
        if previous is not None and not self.overwrite:
            record = previous[1]
            finished = record.is_finished(
                self.options, self.model.sha256, self.localiser_sha256, digest, self.model.calibration_sha256
            )
            if finished and (self.folder / str(record.overlay)).is_file():
                return record
        try:
            check_radiograph(radiograph, str(path))
        except InputRefusedError as error:
            return EstimateRecord(str(path), refused=error.problem, input_sha256=digest, input_notes=notes)
        return self._estimate(path, stem, radiograph, digest, notes)

    def _estimate(
        self, path: Path, stem: str, radiograph: Radiograph, digest: str, notes: tuple[str, ...]
    ) -> EstimateRecord:
        from hipbmd.bmd.estimate import EstimateSettings, estimate_hips
        from hipbmd.bmd.overlay import save_overlay
        from hipbmd.errors import InputError

        options = self.options
        settings = EstimateSettings(
            options.samples,
            options.seed,
            _side(options.side),
            options.center_mm,
            self.yam,
            options.category_confidence,
        )
        try:
            found = estimate_hips(radiograph, self.model, self.localiser, settings)
        except (InputError, ValueError) as error:
            return EstimateRecord.failed(str(path), getattr(error, "problem", str(error)))
        record = replace(
            estimate_record(str(path), radiograph, found.hips, self.model, self.localiser, options),
            input_sha256=digest,
            input_notes=notes,
            no_hip_found=found.no_hip_reason,
            overlay=f"{stem}.png",
        )
        title = f"{path.name}: hipbmd {record.hipbmd_version}"
        save_overlay(self.folder / f"{stem}.png", radiograph, found.hips, self.model.grid, title)
        return record

    def _dicom_results(self, record: EstimateRecord, stem: str) -> EstimateRecord:
        """Write the SR and SC when asked for and missing; a failure becomes a note of the record."""
        from hipbmd.bmd.dicom_files import dicom_result_paths, has_dicom_source, write_dicom_results
        from hipbmd.errors import InputError

        if not self.dicom or not has_dicom_source(record):
            return record
        if all(path.is_file() for path in dicom_result_paths(self.folder, stem)):
            return record
        try:
            write_dicom_results(record, self.folder, stem)
        except InputError as error:
            return replace(record, input_notes=(*record.input_notes, f"no DICOM results: {error.problem}"))
        except Exception as error:  # the estimate stands without its DICOM form
            note = f"no DICOM results: {type(error).__name__}: {error}"
            return replace(record, input_notes=(*record.input_notes, note))
        return record

    def _write(self, record: EstimateRecord, stem: str) -> None:
        """Write the record; a record without a result leaves no overlay or DICOM result of an earlier one."""
        from hipbmd.bmd.dicom_files import dicom_result_paths
        from hipbmd.io.records import write_json

        write_json(self.folder / f"{stem}.json", record.to_json())
        if record.overlay is None:
            for stale in (self.folder / f"{stem}.png", *dicom_result_paths(self.folder, stem)):
                stale.unlink(missing_ok=True)


def _read(path: Path, spacing_mm: float | None) -> tuple[Radiograph, tuple[str, ...]]:
    """The radiograph, and what reading it changed or noticed (its warnings and notes)."""
    import warnings

    from hipbmd.errors import InputWarning
    from hipbmd.io.radiograph import read_radiograph

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        radiograph = read_radiograph(path, spacing_mm)
    notes = [str(w.message).removeprefix(f"{path}: ") for w in caught if issubclass(w.category, InputWarning)]
    notes += [str(note) for note in radiograph.meta.get("notes", [])]
    return radiograph, tuple(dict.fromkeys(notes))


def estimate_record(
    source: str,
    radiograph: Radiograph,
    hips: list[HipEstimate],
    model: DecompositionModel,
    localiser: HipLocaliser,
    options: EstimateOptions,
) -> EstimateRecord:
    """The record of one radiograph's estimates (its overlay not yet named)."""
    from hipbmd.bmd.record_parts import HipRecord
    from hipbmd.io.radiograph_geometry import radiograph_geometry

    geometry = radiograph_geometry(radiograph)
    summary = RadiographSummary(
        radiograph.pixel_spacing_mm,
        radiograph.spacing_source,
        round(geometry.magnification, 4),
        radiograph.view,
        radiograph.laterality,
        radiograph.presentation,
        radiograph.age_years,
        radiograph.sex,
        geometry.source,
        geometry.relative_uncertainty,
    )
    hip_records = tuple(
        HipRecord(
            hip.side,
            hip.location,
            tuple(hip.flags),
            dict(hip.raw_abmd_g_cm2),
            tuple(hip.measurements),
            None if hip.femur is None else hip.femur.summary(),
            hip.category,
            hip.evidence,
            hip.ood_distance,
        )
        for hip in hips
    )
    return EstimateRecord(
        source,
        radiograph=summary,
        model=ModelReference(
            model.manifest.get("name"), model.sha256, model.shipped, model.calibration_sha256
        ),
        localiser=ModelReference(
            localiser.manifest.get("name"),
            localiser.manifest.get("weights", {}).get("sha256"),
            localiser.shipped,
        ),
        options=options,
        hips=hip_records,
    )


def _same_file(source: str) -> Path:
    """The path a record's source names, resolved, so that two spellings of one file compare equal."""
    return Path(source).resolve()


def _side(value: str | None) -> Literal["right", "left"] | None:
    if value not in (None, "right", "left"):
        raise ValueError(f"side must be right or left, not {value!r}")
    return None if value is None else ("right" if value == "right" else "left")
