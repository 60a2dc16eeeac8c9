"""Reading image files into tensors in [-1, 1]: IDX files (MNIST, Fashion-MNIST), pixel
arrays resized and converted between grey and colour, and image files read on demand.

``dcgan_lib.data`` finds the files; this module reads them. Nothing here imports the
rest of dcgan_lib.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

__all__ = ["IMAGE_EXTENSIONS", "read_idx", "to_tensor", "LazyImages"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_LUMA = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601 weights, as PIL's "L" mode


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
    """

    def __init__(
        self, paths: list[Path], image_size: int, channels: int = 3, crop: int | None = None
    ):
        self.paths, self.image_size = list(paths), image_size
        self.channels, self.crop = channels, crop

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        with Image.open(self.paths[i]) as image:
            image = image.convert("RGB")  # palette, alpha and grey files alike
        w, h = image.size
        side = min(w, h) if self.crop is None else min(self.crop, w, h)
        left, top = (w - side) // 2, (h - side) // 2
        pixels = np.array(image.crop((left, top, left + side, top + side)))  # S, S, 3 uint8
        return to_tensor(pixels[None], 255.0, self.image_size, self.channels)[0]
