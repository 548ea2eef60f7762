"""Label tables: names ↔ values of segmentation labels, built in or from a TSV file.

Built in: TotalSegmentator v1 and v2, and ``hipbmd`` (the labels hipbmd writes, e.g. in simulated cohorts).

A table is a tab-separated file with a header line and rows ``value<TAB>name``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from hipbmd.errors import InputError

BUILTIN_TABLES = ("totalsegmentator_v1", "totalsegmentator_v2", "hipbmd")


def load_label_table(name_or_path: str | Path) -> dict[str, int]:
    """Name → value for a built-in table name or a TSV file path."""
    text = _table_text(str(name_or_path))
    table: dict[str, int] = {}
    for line_number, line in enumerate(text.splitlines()[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            table[fields[1].strip()] = int(fields[0])
        except (IndexError, ValueError) as error:
            raise InputError(name_or_path, f"line {line_number} is not 'value<TAB>name'") from error
    return table


def _table_text(name_or_path: str) -> str:
    if name_or_path in BUILTIN_TABLES:
        return resources.files("hipbmd.resources").joinpath("labels", f"{name_or_path}.tsv").read_text()
    path = Path(name_or_path)
    if not path.is_file():
        raise InputError(path, f"no such label table (built in: {', '.join(BUILTIN_TABLES)})")
    return path.read_text()


def resolve_labels(specs: list[str], table: str | Path | None = None) -> list[int]:
    """Label values for specs that are integers or names in ``table``."""
    values = []
    names = load_label_table(table) if table is not None else None
    for spec in specs:
        if spec.strip().lstrip("-").isdigit():
            values.append(int(spec))
        elif names is None:
            raise InputError(spec, "a label name needs --label-table (e.g. totalsegmentator_v2)")
        elif spec not in names:
            raise InputError(spec, f"not a label in {table}")
        else:
            values.append(names[spec])
    return values
