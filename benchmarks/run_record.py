"""Writing a benchmark's results: JSON written atomically, so that a run stopped half-way
never leaves a truncated file in place of the results the book reads."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_json(path: Path, record: dict) -> None:
    """Write ``record`` to ``path`` (its folder made if needed) through a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path}")
