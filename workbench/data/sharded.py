"""Per-image outputs of big sets (embeddings, predictions) as memory-mapped .npy shards on disk.

Images are decoded by DataLoader workers in parallel with the model; outputs go straight into shards of
`shard_rows` rows, so memory stays flat at any set size and a reader maps only what it touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from workbench.atomic import atomic_dir
from workbench.data.imageio import load_image
from workbench.data.tensors import image_to_uint8
from workbench.errors import WorkbenchError

Batch = Callable[[torch.Tensor], torch.Tensor]  # uint8 (B, C, H, W) -> (B, D)


class ImageFiles(Dataset):
    """Image files decoded to uint8 (C, size, size) tensors, the layout training uses."""

    def __init__(self, files: Sequence[str | Path], size: int, channels: int):
        self.files, self.size, self.channels = list(files), size, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        return image_to_uint8(load_image(self.files[i]), self.size, self.channels)


@dataclass(frozen=True)
class Sharded:
    """A (N, D) float32 array stored as part-00000.npy, part-00001.npy, ... in one folder."""

    folder: Path

    @property
    def parts(self) -> list[Path]:
        """The shard files in row order."""
        return sorted(self.folder.glob("part-*.npy"))

    def chunks(self) -> Iterator[np.ndarray]:
        """Each shard, memory-mapped (read only)."""
        for p in self.parts:
            yield np.load(p, mmap_mode="r")

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks())

    def to_numpy(self) -> np.ndarray:
        """All rows in memory (for sets that fit)."""
        chunks = list(self.chunks())
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)


def map_to_shards(fn: Batch, files: Sequence[str | Path], out_dir: Path, *, size: int, channels: int,
                  batch_size: int = 256, workers: int = 2, shard_rows: int = 16384,
                  progress: Callable[[int, int], None] | None = None) -> Sharded:
    """fn over every image file, batched, into float32 shards in out_dir (replaced whole when complete)."""
    if shard_rows % batch_size:
        raise WorkbenchError(f"shard_rows ({shard_rows}) must be a multiple of batch_size ({batch_size}).")
    loader = DataLoader(ImageFiles(files, size, channels), batch_size=batch_size, num_workers=workers,
                        persistent_workers=False, prefetch_factor=4 if workers else None)
    with atomic_dir(out_dir) as tmp, torch.no_grad():
        _write_shards((fn(batch).float().cpu().numpy() for batch in loader), len(files), tmp, shard_rows, progress)
    return Sharded(Path(out_dir))


def _write_shards(outputs: Iterable[np.ndarray], n: int, folder: Path, shard_rows: int,
                  progress: Callable[[int, int], None] | None) -> None:
    """Batches of rows into part-00000.npy, ... of `shard_rows` rows each (the last sized to what is left)."""
    shard, done = None, 0
    for out in outputs:
        if done % shard_rows == 0:  # a new shard starts: size it to what is left, flush the last one
            if shard is not None:
                shard.flush()
            rows = min(shard_rows, n - done)
            shard = np.lib.format.open_memmap(folder / f"part-{done // shard_rows:05d}.npy", mode="w+",
                                              dtype=np.float32, shape=(rows, out.shape[1]))
        start = done % shard_rows
        shard[start:start + len(out)] = out
        done += len(out)
        if progress:
            progress(done, n)
    if shard is not None:
        shard.flush()
        del shard  # unmapped before the folder is renamed
