"""The built-in T-score reference and the user's YAM table files (CSV and JSON), good and bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hipbmd.bmd.reference import NHANES_III, YAMTable, load_yam_table, t_reference
from hipbmd.errors import InputError

# Made-up numbers for file handling only: hipbmd ships no YAM values.
YAM_CSV = """# test table, values invented for the test
roi,yam_g_cm2,sd_g_cm2,device
neck,0.80,0.10,Scanner A
total_hip,0.90,,Scanner A
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_nhanes_iii_values_and_source() -> None:
    neck = t_reference("neck")
    total_hip = t_reference("total_hip")
    assert neck is not None and total_hip is not None
    assert (neck.mean_g_cm2, neck.sd_g_cm2) == (0.858, 0.120)
    assert (total_hip.mean_g_cm2, total_hip.sd_g_cm2) == (0.942, 0.122)
    assert "Looker" in neck.source and "1998" in neck.source
    assert t_reference("proximal_femur") is None
    with pytest.raises(TypeError):
        NHANES_III["proximal_femur"] = neck  # type: ignore[index]


def test_reference_is_frozen() -> None:
    neck = NHANES_III["neck"]
    with pytest.raises(AttributeError):
        neck.mean_g_cm2 = 1.0  # type: ignore[misc]


def test_csv_table(tmp_path: Path) -> None:
    table = load_yam_table(_write(tmp_path, "yam.csv", YAM_CSV))
    assert isinstance(table, YAMTable)
    assert table.yam_g_cm2("neck") == 0.80
    assert table.entries["neck"].sd_g_cm2 == 0.10
    assert table.entries["total_hip"].sd_g_cm2 is None
    assert table.entries["total_hip"].device == "Scanner A"
    assert table.yam_g_cm2("proximal_femur") is None
    assert table.source.endswith("yam.csv")


def test_csv_with_only_the_required_columns_and_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "yam.csv"
    path.write_text("\ufeffroi, yam_g_cm2\nproximal_femur,0.85\n", encoding="utf-8")
    assert load_yam_table(path).yam_g_cm2("proximal_femur") == 0.85


def test_json_table_as_list_or_object(tmp_path: Path) -> None:
    rows = [{"roi": "neck", "yam_g_cm2": 0.8, "sd_g_cm2": None, "device": "Scanner A"}]
    as_list = load_yam_table(_write(tmp_path, "a.json", json.dumps(rows)))
    as_object = load_yam_table(_write(tmp_path, "b.json", json.dumps({"entries": rows})))
    assert as_list.entries == as_object.entries
    assert as_list.yam_g_cm2("neck") == 0.8


def test_device_selects_rows(tmp_path: Path) -> None:
    text = YAM_CSV + "neck,0.75,0.09,Scanner B\n"
    path = _write(tmp_path, "yam.csv", text)
    with pytest.raises(InputError, match="more than once"):
        load_yam_table(path)
    assert load_yam_table(path, device="scanner b").yam_g_cm2("neck") == 0.75
    assert load_yam_table(path, device="Scanner A").yam_g_cm2("neck") == 0.80
    with pytest.raises(InputError, match="no rows for device 'C'"):
        load_yam_table(path, device="C")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("roi,yam_mg_cm2\nneck,858\n", "unknown field"),
        ("roi,sd_g_cm2\nneck,0.1\n", "missing field"),
        ("", "missing field"),
        ("roi,yam_g_cm2\n", "no rows"),
        ("roi,yam_g_cm2\nfemoral_neck,0.8\n", "row 1: unknown region"),
        ("roi,yam_g_cm2\nneck,858\n", "outside"),
        ("roi,yam_g_cm2\nneck,80\n", "outside"),
        ("roi,yam_g_cm2\nneck,abc\n", "not a number"),
        ("roi,yam_g_cm2\nneck,nan\n", "not finite"),
        ("roi,yam_g_cm2\nneck,\n", "empty"),
        ("roi,yam_g_cm2,sd_g_cm2\nneck,0.8,-0.1\n", "sd_g_cm2"),
        ("roi,yam_g_cm2\nneck,0.8,extra\n", "more cells"),
        ("roi,yam_g_cm2\nneck,0.8\ntotal_hip,0.9\nneck,0.81\n", "more than once"),
    ],
)
def test_bad_csv_is_an_input_error(tmp_path: Path, text: str, problem: str) -> None:
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(InputError, match=problem) as caught:
        load_yam_table(path)
    assert caught.value.path == str(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[{", "Expecting"),
        ('{"rows": []}', "entries"),
        ("[1, 2]", "list of objects"),
        ('[{"roi": "neck", "yam_g_cm2": true}]', "not a number"),
        ('[{"roi": "neck", "yam_g_cm2": 0.8, "note": "x"}]', "unknown field"),
    ],
)
def test_bad_json_is_an_input_error(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        load_yam_table(_write(tmp_path, "bad.json", text))


def test_missing_or_undecodable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_yam_table(tmp_path / "absent.csv")
    path = tmp_path / "latin1.csv"
    path.write_bytes("roi,yam_g_cm2,device\nneck,0.8,Ré\n".encode("latin-1"))
    with pytest.raises(InputError, match="cannot read"):
        load_yam_table(path)
