"""How examples reach the trainer: batch ``k`` of a run, for any step ``k``.

* :class:`InMemoryBatches` -- a tensor held in memory (on the training device when it
  fits): a fresh permutation each epoch, derived from (seed, epoch), so any step's batch
  is known from the step alone and a resumed run sees exactly the batches it would have;
  a tensor kept elsewhere (a large set in host memory, training on a GPU) hands each
  batch to the training device (through pinned memory, asynchronously, for CPU to CUDA);
* :class:`StreamedBatches` -- a lazy dataset read through a DataLoader, cycled forever; an
  error in a worker (an unreadable image file, say) comes back as its own one line.

Under DistributedDataParallel each process takes its own share (``rank`` of ``world``).
Nothing here imports the rest of dcgan_lib.
"""

from __future__ import annotations

import os

import torch
from torch.utils.data import DataLoader, DistributedSampler

__all__ = ["InMemoryBatches", "StreamedBatches"]


class InMemoryBatches:
    """Batch ``step`` of an in-memory tensor: a fresh permutation each epoch, derived
    from (seed, epoch), so any step's batch is known from the step alone (exact resume)."""

    def __init__(
        self,
        x: torch.Tensor,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        device=None,
        memory_format=torch.preserve_format,
    ):
        n = x.shape[0] // world
        if n < batch_size:
            raise ValueError(
                f"the dataset has {x.shape[0]} examples, fewer than one batch of {batch_size} "
                "per process; lower batch_size or use more data"
            )
        self.x, self.batch_size, self.seed, self.rank, self.world = x, batch_size, seed, rank, world
        self.device = x.device if device is None else torch.device(device)
        self.memory_format = memory_format if x.dim() == 4 else torch.preserve_format
        self.per_epoch = n // batch_size
        self._epoch, self._perm = None, None

    def __call__(self, k: int) -> torch.Tensor:
        epoch, i = divmod(k, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            perm = torch.randperm(self.x.shape[0], generator=g)[self.rank :: self.world]
            self._epoch, self._perm = epoch, perm.to(self.x.device)
        batch = self.x[self._perm[i * self.batch_size : (i + 1) * self.batch_size]]
        if batch.device == self.device:
            return batch
        pinned = batch.device.type == "cpu" and self.device.type == "cuda"
        if pinned:
            batch = batch.pin_memory()  # a page-locked copy: the transfer runs asynchronously
        return batch.to(self.device, memory_format=self.memory_format, non_blocking=pinned)


def _worker_error(e: Exception) -> Exception:
    """A DataLoader worker's error as one line: its own message, without the traceback the
    DataLoader pastes into it."""
    text = str(e).rstrip()
    if "Original Traceback" not in text:
        return e
    last = text.splitlines()[-1]
    head, _, message = last.partition(": ")
    message = message if type(e).__name__ in head else last
    try:
        return type(e)(message)
    except Exception:  # an exception type that takes other arguments
        return RuntimeError(message)


class StreamedBatches:
    """Batches from a lazy dataset through a DataLoader, cycled forever."""

    def __init__(
        self,
        dataset,
        batch_size: int,
        seed: int,
        device,
        workers=None,
        rank: int = 0,
        world: int = 1,
    ):
        workers = min(8, os.cpu_count() or 1) if workers is None else workers
        sampler = DistributedSampler(dataset, world, rank, seed=seed) if world > 1 else None
        g = torch.Generator().manual_seed(seed)
        self.loader = DataLoader(
            dataset,
            batch_size,
            shuffle=sampler is None,
            sampler=sampler,
            drop_last=True,
            generator=g,
            num_workers=workers,
            pin_memory=device.type == "cuda",
            persistent_workers=workers > 0,
        )
        self.device, self._it, self._epoch = device, None, 0

    def __call__(self, k: int) -> torch.Tensor:
        while True:
            if self._it is None:
                if hasattr(self.loader.sampler, "set_epoch"):
                    self.loader.sampler.set_epoch(self._epoch)
                self._it, self._epoch = iter(self.loader), self._epoch + 1
            try:
                batch = next(self._it)
                break
            except StopIteration:
                self._it = None
            except Exception as e:
                raise _worker_error(e) from None
        batch = batch[0] if isinstance(batch, (list, tuple)) else batch
        return batch.to(self.device, non_blocking=True)
