"""The inputs of a batch estimate: folders, manifests, record names and parts k/N."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dicom_factory import radiograph, save, write_ct_series
from hipbmd.bmd.batch_inputs import (
    collect_inputs,
    folder_radiographs,
    manifest_radiographs,
    parse_part,
    record_names,
    select_part,
)
from hipbmd.errors import InputError

PIXELS = np.arange(16, dtype=np.uint16).reshape(4, 4)


@pytest.mark.parametrize(("spec", "expected"), [("1/1", (1, 1)), ("2/3", (2, 3)), ("3/3", (3, 3))])
def test_a_part_spec_reads_as_k_of_n(spec: str, expected: tuple[int, int]) -> None:
    assert parse_part(spec) == expected


@pytest.mark.parametrize("spec", ["0/3", "4/3", "x", "1/0", "2", "1/3/4", "-1/3", "a/b", ""])
def test_a_bad_part_spec_is_refused_with_one_line(spec: str) -> None:
    with pytest.raises(ValueError, match="expected k/N") as raised:
        parse_part(spec)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("n_items", [0, 1, 5, 12, 13])
@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_the_parts_are_disjoint_and_cover_every_input(n_items: int, parts: int) -> None:
    items = [f"file_{i:02d}" for i in range(n_items)]
    chosen = [select_part(items, (k, parts)) for k in range(1, parts + 1)]
    assert sorted(item for part in chosen for item in part) == items
    assert sum(len(part) for part in chosen) == n_items
    assert max(map(len, chosen)) - min(map(len, chosen)) <= 1  # balanced


def test_a_part_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        select_part([1, 2], (3, 2))


def test_record_names_are_distinct_when_files_share_a_name(tmp_path: Path) -> None:
    cohort = [tmp_path / "cases" / f"case_{k:05d}" / "xray.dcm" for k in range(3)]
    assert record_names(cohort) == ["case_00000_xray", "case_00001_xray", "case_00002_xray"]
    assert record_names([tmp_path / "a" / "hip.dcm", tmp_path / "b" / "hip.png"]) == ["a_hip", "b_hip"]
    assert record_names([tmp_path / "one.dcm", tmp_path / "two.dcm.gz"]) == ["one", "two"]
    assert record_names([tmp_path / "1.2.840.99.dcm"]) == ["1.2.840.99"]  # a UID-named file keeps its dots


def test_a_name_two_inputs_would_share_gets_a_stable_suffix(tmp_path: Path) -> None:
    paths = [tmp_path / "x" / "hip.dcm", tmp_path / "x" / "hip.png", tmp_path / "x_hip.dcm"]
    names = record_names(paths)
    assert len(set(names)) == 3 and all(name.startswith(("hip", "x_hip")) for name in names)
    assert record_names(paths) == names  # a function of the paths alone


def test_a_folder_yields_its_radiographs_recursively_and_sorted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "b").mkdir(parents=True)
    (data / "a" / "deep").mkdir(parents=True)
    save(radiograph(PIXELS), data / "b" / "IM0001")  # DICOM without a suffix: found by its preamble
    save(radiograph(PIXELS, modality="CR"), data / "a" / "deep" / "hip.dcm")
    (data / "a" / "view.png").write_bytes(b"png")  # judged by its name; reading decides later
    write_ct_series(data / "ct", np.zeros((4, 4, 2), np.int16), [(0, 0, 0), (0, 0, 1)])  # CT: left out
    (data / "README").write_text("notes")
    (data / "labels.nii.gz").write_bytes(b"")
    (data / ".hidden").mkdir()
    save(radiograph(PIXELS), data / ".hidden" / "skip.dcm")
    found = folder_radiographs(data)
    assert [p.relative_to(data).as_posix() for p in found] == ["a/deep/hip.dcm", "a/view.png", "b/IM0001"]


def test_the_output_folder_inside_an_input_folder_is_not_searched(tmp_path: Path) -> None:
    save(radiograph(PIXELS), tmp_path / "hip.dcm")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "hip.png").write_bytes(b"an overlay")
    assert collect_inputs([tmp_path], exclude=tmp_path / "out") == [tmp_path / "hip.dcm"]


def test_a_folder_without_radiographs_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(InputError, match="holds no radiographs"):
        folder_radiographs(tmp_path)


def test_a_manifest_lists_paths_relative_to_its_folder(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("case_id,xray\nc1,cases/c1/xray.dcm\nc0,/abs/c0.dcm\n")
    assert manifest_radiographs(tmp_path / "m.csv") == [tmp_path / "cases/c1/xray.dcm", Path("/abs/c0.dcm")]
    (tmp_path / "f.csv").write_text("file,xray\nwanted.png,ignored.dcm\n")
    assert manifest_radiographs(tmp_path / "f.csv") == [tmp_path / "wanted.png"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("case_id,ct\nc1,ct.nii.gz\n", "no 'file' or 'xray'"),
        ("file\n", "lists no"),
        ("file\nok.dcm\n\n \n", "empty"),
    ],
)
def test_a_bad_manifest_is_an_input_error(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(InputError, match=problem):
        manifest_radiographs(tmp_path / "m.csv")


def test_inputs_are_deduplicated_and_sorted_whatever_the_order_given(tmp_path: Path) -> None:
    for name in ("b.dcm", "a.dcm"):
        save(radiograph(PIXELS), tmp_path / name)
    (tmp_path / "m.csv").write_text("file\nb.dcm\n")
    given = [tmp_path / "b.dcm", tmp_path / "a.dcm", tmp_path]
    assert collect_inputs(given, tmp_path / "m.csv") == [tmp_path / "a.dcm", tmp_path / "b.dcm"]
