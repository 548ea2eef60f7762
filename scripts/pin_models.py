"""Pin the sha256 of the shipped models' files in the package code (``hipbmd/io/model_pins.py``).

The last step of retraining a shipped model: after its folder in ``src/hipbmd/resources/models`` is
replaced, run

    python scripts/pin_models.py            # rewrite the pins
    python scripts/pin_models.py --check    # exit 1 when a shipped folder differs from its pins

and commit the two together. Until the pins are rewritten hipbmd refuses the changed model.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src" / "hipbmd" / "resources" / "models"
PINS = ROOT / "src" / "hipbmd" / "io" / "model_pins.py"
BLOCK = re.compile(r"(SHIPPED_MODEL_SHA256: dict\[str, dict\[str, str\]\] = )\{.*?\n\}\n", re.S)


def current_pins() -> dict[str, dict[str, str]]:
    """Model folder → file → sha256 of every shipped model folder."""
    sys.path.insert(0, str(ROOT / "src"))
    from hipbmd.io.model_pins import file_hashes

    return {folder.name: file_hashes(folder) for folder in sorted(MODELS.iterdir()) if folder.is_dir()}


def pins_source(pins: dict[str, dict[str, str]]) -> str:
    """The dict literal as it stands in model_pins.py."""
    lines = ["{"]
    for name, files in pins.items():
        lines.append(f'    "{name}": {{')
        lines += [f'        "{file}": "{digest}",' for file, digest in files.items()]
        lines.append("    },")
    return "\n".join([*lines, "}"]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args()
    text = PINS.read_text()
    match = BLOCK.search(text)
    if match is None:
        print(f"{PINS}: no SHIPPED_MODEL_SHA256 block found", file=sys.stderr)
        return 2
    updated = text[: match.start()] + match.group(1) + pins_source(current_pins()) + text[match.end() :]
    if args.check:
        same = updated == text
        print("pins match the shipped models" if same else "pins differ from the shipped models")
        return 0 if same else 1
    PINS.write_text(updated)
    print(f"wrote {PINS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
