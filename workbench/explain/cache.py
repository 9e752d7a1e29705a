"""CAM overlays cached as PNG files, so a gallery page computes only the thumbnails it has not shown before."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from workbench.atomic import atomic_path
from workbench.data.imageio import load_image
from workbench.explain.cam import explain_images, overlay

if TYPE_CHECKING:  # annotations only: importing these at run time would cycle or cost start-up
    from workbench.train.runs import LoadedRun


def cache_dir(run_dir: Path, plots_run_dir: Path, method: str, layer: str | None, which: str = "best") -> Path:
    """One folder per (checkpoint version, method, layer): a retrained run never shows stale maps."""
    ckpt = Path(run_dir) / f"{which}.pt"
    stamp = str(ckpt.stat().st_mtime_ns) if ckpt.exists() else "0"
    key = hashlib.sha1(f"{stamp}|{method}|{layer or 'auto'}".encode()).hexdigest()[:12]
    return Path(plots_run_dir) / "cams" / key


def cam_overlay_files(loaded: LoadedRun, image_ids: Sequence[int], paths: Sequence[str], targets: Sequence[int],
                      folder: Path, method: str = "gradcam", layer: str | None = None, size: int = 160) -> list[str]:
    """PNG overlay paths for each image (CAM of class targets[i]); computes the missing ones in one batch."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / f"{int(i)}_c{int(t)}.png" for i, t in zip(image_ids, targets)]
    todo = [k for k, f in enumerate(files) if not f.exists()]
    if todo:
        images = [load_image(paths[k]) for k in todo]
        maps = explain_images(loaded, images, [int(targets[k]) for k in todo], method, layer)
        for k, im, m in zip(todo, images, maps):
            with atomic_path(files[k]) as tmp:  # a half-written PNG is never served; two sessions may write one
                overlay(im, m, size).save(tmp)
    return [str(f) for f in files]
