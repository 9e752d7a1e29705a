"""CAM overlays cached as PNG files, so a gallery page computes only the thumbnails it has not shown before."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from workbench.atomic import atomic_path
from workbench.data.imageio import load_image
from workbench.explain.cam import explain_images, overlay
from workbench.run import Run
from workbench.train.runs import LoadedRun


def cache_dir(run: Run, method: str, layer: str | None, which: str = "best") -> Path:
    """plots_checkpoints/<run>/cams/<key>/: one folder per (checkpoint version, method, layer), so a retrained run
    never shows stale maps."""
    key = hashlib.sha1(f"{run.checkpoint_stamp(which)}|{method}|{layer or 'auto'}".encode()).hexdigest()[:12]
    return run.plots / "cams" / key


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
