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


def header(argv, args, start: float) -> dict:
    """What every benchmark records beside its rows: the command as typed, every setting, the
    machine, the versions, the date and the wall time since ``start`` (time.perf_counter)."""
    import datetime
    import platform
    import sys
    import time

    import torch

    from dcgan_lib import hardware

    return {
        "command": "python "
        + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "hardware": hardware("cpu"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_time_s": round(time.perf_counter() - start, 1),
    }
