"""The hostile-input corpus run as a user would run it, printed as a table.

Builds the corpus of ``tests/hostile_corpus.py`` (bad files, out-of-bounds headers, broken CTs, outputs
that cannot be written) in a temporary folder and runs each case's ``hipbmd`` command in a subprocess,
with a memory cap so that a run that allocates from a header fails here instead of on a hospital's
server. Prints per case: the command, the exit code (and the one expected), the first stderr line or the
reason recorded for the file, and whether the outcome is the documented one.

Usage:  .venv/bin/python benchmarks/hostile_inputs.py [--memory-gb 4]
            [--out benchmarks/results_hostile_inputs.txt]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import hostile_corpus


def _cap_memory(gigabytes: float) -> None:
    limit = int(gigabytes * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-gb", type=float, default=4.0, help="address-space cap of each run")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    _cap_memory(args.memory_gb)  # inherited by every subprocess
    lines = [f"hostile inputs: {len(hostile_corpus.CASES)} cases, each run capped at {args.memory_gb:g} GB"]
    lines.append(
        f"{'case':34} {'exit':>4} {'want':>4}  {'ok':3} {'s':>5}  first stderr line, or the file's reason"
    )
    documented = 0
    with tempfile.TemporaryDirectory() as scratch:
        for index, case in enumerate(hostile_corpus.CASES):
            folder = Path(scratch) / f"case_{index:02d}"
            folder.mkdir()
            case.make(folder)
            started = time.perf_counter()
            outcome = hostile_corpus.run(case, folder)
            seconds = time.perf_counter() - started
            shown = outcome.first_error_line or next(iter(outcome.reasons), "")
            ok = (
                outcome.exit_code == case.exit_code
                and not outcome.written
                and (
                    case.expect in outcome.first_error_line or any(case.expect in r for r in outcome.reasons)
                )
            )
            documented += ok
            lines.append(
                f"{case.name:34} {outcome.exit_code:>4} {case.exit_code:>4}  {'yes' if ok else 'NO':3} "
                f"{seconds:5.1f}  {shown[:110]}"
            )
            lines.append(f"{'':34} hipbmd {' '.join(case.command)}")
    lines.append(f"documented outcome: {documented} of {len(hostile_corpus.CASES)}")
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0 if documented == len(hostile_corpus.CASES) else 1


if __name__ == "__main__":
    raise SystemExit(main())
