"""Reading image files into tensors in [-1, 1]: IDX files (MNIST, Fashion-MNIST), pixel
arrays resized and converted between grey and colour, and image files read on demand.
An unreadable image file is named in a one-line :class:`UnreadableImageError` (every one of
them, when a folder is read into memory), or skipped and counted with ``skip_unreadable``;
a resize that would not fit in memory is refused before it allocates anything, and a data
folder that does not exist is refused (:func:`require_folder`), never silently replaced.

``dcgan_lib.data`` finds the files; this module reads them. Nothing here imports the
rest of dcgan_lib.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

__all__ = [
    "IMAGE_EXTENSIONS",
    "UnreadableImageError",
    "available_memory",
    "check_fits_in_memory",
    "require_folder",
    "read_idx",
    "to_tensor",
    "LazyImages",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_LUMA = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601 weights, as PIL's "L" mode


class UnreadableImageError(ValueError):
    """An image file cannot be read (truncated, corrupt, or not an image at all)."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason  # the reader's own words, for a list of files


def available_memory() -> int | None:
    """Bytes of memory free for new work (MemAvailable on Linux), or None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits_in_memory(n: int, channels: int, image_size: int) -> None:
    """Refuse, before allocating, n float32 images (channels, size, size) that would take
    more than 80% of the memory available."""
    need = n * channels * image_size * image_size * 4
    free = available_memory() if need > 1 << 26 else None  # under 64 MB: not worth asking
    if free is not None and need > 0.8 * free:
        raise ValueError(
            f"{n:,} images of {channels}x{image_size}x{image_size} float32 need "
            f"{need / 1e9:.1f} GB, more than the {free / 1e9:.1f} GB of memory available: "
            "choose a smaller image_size (the DCGAN models take 16 to 256) or a limit"
        )


def require_folder(folder, holding: str = "the data") -> None:
    """Raise FileNotFoundError unless ``folder`` (when given) is an existing folder."""
    if folder is not None and not Path(folder).is_dir():
        raise FileNotFoundError(
            f"data_dir {os.fspath(folder)!r} is not a folder (it does not exist); pass the "
            f"folder holding {holding}, or leave data_dir out to search the usual places"
        )


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or .gz), the format of MNIST and Fashion-MNIST.

    Header: two zero bytes, a type code, the number of dimensions, then each
    dimension as a big-endian uint32; the data follows, big-endian.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic: decide by content, not by the file name
        try:
            raw = gzip.decompress(raw)
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise ValueError(
                f"{path}: damaged or truncated gzip file ({err}); fetch it again"
            ) from err
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (magic number 0x{raw[:4].hex()})")
    ndim, header = raw[3], 4 + 4 * raw[3]
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} of {header} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    count, found = math.prod(shape), len(raw) - header
    if found != count * dtype.itemsize:
        problem = "truncated" if found < count * dtype.itemsize else "oversized"
        raise ValueError(
            f"{path}: {problem} IDX file: shape {shape} needs "
            f"{count * dtype.itemsize} bytes of data, found {found}; fetch it again"
        )
    # astype copies into native byte order and a writable array torch can share
    return np.frombuffer(raw, dtype, count, header).reshape(shape).astype(dtype.newbyteorder("="))


def to_tensor(images, max_value: float, image_size: int, channels: int | None) -> torch.Tensor:
    """(N, H, W) or (N, H, W, C) square images in [0, max_value] -> (N, C', S, S) in [-1, 1]."""
    images = torch.as_tensor(np.asarray(images))
    if images.ndim == 3:
        images = images.unsqueeze(-1)
    n, c = images.shape[0], images.shape[-1]
    check_fits_in_memory(n, channels or c, image_size)
    out = torch.empty(n, channels or c, image_size, image_size)
    for start in range(0, n, 4096):  # chunks bound the float copies' memory for 60k images
        x = images[start : start + 4096].permute(0, 3, 1, 2).float() / max_value  # N, C, H, W
        if channels == 3 and c == 1:
            x = x.expand(-1, 3, -1, -1)
        elif channels == 1 and c == 3:
            x = (x * _LUMA.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
        if x.shape[-2:] != (image_size, image_size):
            # antialias makes downsampling average pixels instead of skipping them
            x = torch.nn.functional.interpolate(
                x,
                size=(image_size, image_size),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
        out[start : start + 4096] = x.clamp(0, 1) * 2 - 1
    return out


class LazyImages(torch.utils.data.Dataset):
    """Image files read on demand: item i is a (C, S, S) tensor in [-1, 1].

    crop: side of the central square kept before resizing (None: the shorter side).
    skip_unreadable: an unreadable file is skipped (the next readable one is read in its
    place) and remembered, see :meth:`unreadable`; otherwise it raises
    :class:`UnreadableImageError` naming the file.
    """

    def __init__(
        self,
        paths: list[Path],
        image_size: int,
        channels: int = 3,
        crop: int | None = None,
        skip_unreadable: bool = False,
    ):
        self.paths, self.image_size = list(paths), image_size
        self.channels, self.crop, self.skip_unreadable = channels, crop, skip_unreadable
        # one flag per file, in shared memory: DataLoader workers mark what they skip
        self._bad = torch.zeros(len(self.paths), dtype=torch.bool).share_memory_()

    def __len__(self) -> int:
        return len(self.paths)

    def unreadable(self) -> list[Path]:
        """The files found unreadable so far (and skipped)."""
        return [self.paths[i] for i in self._bad.nonzero().flatten().tolist()]

    def __getitem__(self, i: int) -> torch.Tensor:
        if not self.skip_unreadable:
            return self._read(i)
        for k in (j % len(self) for j in range(i, i + len(self))):
            if not self._bad[k]:
                try:
                    return self._read(k)
                except UnreadableImageError:
                    self._bad[k] = True
        raise UnreadableImageError(f"none of the {len(self)} image files can be read")

    def read_all(self) -> torch.Tensor:
        """Every image, (N, C, S, S) in memory. Unreadable files are all named in one error,
        or skipped (and remembered) with ``skip_unreadable``."""
        check_fits_in_memory(len(self), self.channels, self.image_size)
        images, bad = [], []
        for i in range(len(self)):
            try:
                images.append(self._read(i))
            except UnreadableImageError as e:
                bad.append(f"{self.paths[i]} ({e.reason})")
                self._bad[i] = True
        if bad and not self.skip_unreadable:
            raise UnreadableImageError(
                f"{len(bad)} of {len(self)} image files cannot be read: {'; '.join(bad)}. "
                "Remove or replace them, or skip them with skip_unreadable=True "
                "(--skip-unreadable)"
            )
        if not images:
            raise UnreadableImageError(f"none of the {len(self)} image files can be read")
        if bad:
            print(
                f"skipped {len(bad)} of {len(self)} image files: {'; '.join(bad)}", file=sys.stderr
            )
        return torch.stack(images)

    def _read(self, i: int) -> torch.Tensor:
        try:
            with Image.open(self.paths[i]) as image:
                image = image.convert("RGB")  # palette, alpha and grey files alike
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise UnreadableImageError(
                f"{self.paths[i]}: cannot read this image file ({reason}); remove or replace "
                "it, or skip such files with skip_unreadable=True (--skip-unreadable)",
                reason,
            ) from None
        w, h = image.size
        side = min(w, h) if self.crop is None else min(self.crop, w, h)
        left, top = (w - side) // 2, (h - side) // 2
        pixels = np.array(image.crop((left, top, left + side, top + side)))  # S, S, 3 uint8
        return to_tensor(pixels[None], 255.0, self.image_size, self.channels)[0]
