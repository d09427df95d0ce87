"""Reading a file the user names, with a size limit: a path may be a device or an endless
stream (``/dev/zero``, ``/dev/full``, a FIFO fed by ``yes``), and reading it whole would
take every byte of memory before anything could say what is wrong."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import BinaryIO

# Far above any config, web config, secret or saved Slurm output (the runner keeps at most
# 4 MiB of a command's output), far below what hurts a machine.
MAX_INPUT_BYTES = 16 * 1024 * 1024


class InputTooLarge(OSError):
    """An OSError, so every caller's one-line "cannot read: <strerror>" says it as is."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            errno.EFBIG,
            f"larger than {limit // (1024 * 1024)} MiB (a device or an endless stream?)",
        )


def read_stream(stream: BinaryIO, limit: int = MAX_INPUT_BYTES) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(limit)
    return data


def read_bytes(path: Path | str, limit: int = MAX_INPUT_BYTES) -> bytes:
    with open(path, "rb") as f:
        return read_stream(f, limit)
