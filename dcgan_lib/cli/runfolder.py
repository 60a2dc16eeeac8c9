"""A training run's folder: never silently overwritten, never shared, stopped cleanly.

* :func:`check_run_folder` -- a folder that already holds ``checkpoint.pt`` is refused
  unless ``--resume`` (continue it) or ``--overwrite`` (replace it) says what to do with it;
* :class:`RunLock` -- ``OUT/.lock``, made with O_CREAT|O_EXCL and holding the pid, keeps a
  second process from training into a folder in use; it is removed at exit, and a lock
  whose process is gone (killed) is taken over;
* :func:`stop_at_step_boundary` -- a first Ctrl-C (SIGINT) lets the step under way finish
  and then raises :class:`StopRequested`, so the state the command saves is consistent;
  a second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path

from ..checkpoint import CheckpointError, load_checkpoint
from ..device import process_alive
from ..history import Callback
from .flags import check_writable

__all__ = ["LOCK_NAME", "RunLock", "check_run_folder", "StopRequested", "stop_at_step_boundary"]

LOCK_NAME = ".lock"


def check_run_folder(out: Path, resume: bool, overwrite: bool) -> Path:
    """The run's checkpoint path, after checking ``out`` may be used as asked."""
    out = Path(out)
    ckpt = out / "checkpoint.pt"
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder; choose a folder for the run")
    check_writable(ckpt, "--out")
    if resume and not ckpt.is_file():
        raise ValueError(
            f"--resume: {out} holds no checkpoint.pt to continue; "
            "drop --resume to start a new run there"
        )
    if ckpt.exists() and not (resume or overwrite):
        try:
            state = load_checkpoint(ckpt)
            what = f"a run at step {state.get('step')} ({state.get('meta', {}).get('dataset')})"
        except CheckpointError:
            what = "an unreadable checkpoint.pt"
        raise ValueError(
            f"{out} already holds {what}; continue it with --resume, write the new run "
            "elsewhere with --out NEW_FOLDER, or replace it with --overwrite"
        )
    return ckpt

    return True


class RunLock:
    """``with RunLock(folder):`` -- hold ``folder/.lock`` (see the module docstring)."""

    def __init__(self, folder):
        self.path = Path(folder) / LOCK_NAME
        self.held = self.made = False

    def __enter__(self) -> RunLock:
        folder = self.path.parent
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"--out {folder} is a file, not a folder; choose a folder for the run")
        check_writable(self.path, "--out")
        self.made = not folder.exists()  # removed again at exit if nothing was written
        folder.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().split()[0])
                except (OSError, ValueError, IndexError):
                    pid = None  # empty or half-written: its writer died before a pid
                if pid is not None and process_alive(pid):
                    raise ValueError(
                        f"{self.path.parent} is in use: another training (pid {pid}) is "
                        "writing into it; wait for it to finish, stop it, or choose another "
                        f"--out (if no such run exists, delete {self.path})"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()}\n")
            self.held = True
            return self
        raise ValueError(f"could not take the lock {self.path}; try again")

    def __exit__(self, *exc) -> None:
        if self.held:
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(self.path.read_text().split()[0]) == os.getpid():
                    self.path.unlink()
            self.held = False
        if self.made:
            with contextlib.suppress(OSError):
                self.path.parent.rmdir()  # only if empty: a run refused before writing


class StopRequested(KeyboardInterrupt):
    """Ctrl-C was pressed; training stopped at a step boundary."""


class _StopAtStepEnd(Callback):
    def __init__(self):
        self.requested = False

    def on_step_end(self, trainer) -> None:
        if self.requested:
            raise StopRequested


@contextlib.contextmanager
def stop_at_step_boundary(trainer):
    """While training: a first SIGINT stops after the step under way (see the module
    docstring). Outside the main thread, where signals cannot be caught, it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stop = _StopAtStepEnd()

    def handler(signum, frame):
        if stop.requested:
            raise KeyboardInterrupt  # a second Ctrl-C: at once
        stop.requested = True

    trainer.callbacks.insert(0, stop)
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        trainer.callbacks.remove(stop)
