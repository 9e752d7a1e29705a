"""A detection run's model as ONNX, checked against PyTorch, with its model card and a standalone script.

The ONNX graph is the whole torchvision detector for one image: normalisation, the detector, box decoding and
non-maximum suppression inside, so a user feeds pixels and reads boxes. Input `image`: float32 (3, H, W), RGB in
[0, 1], longer side resized to the run's image size (H and W may vary); outputs `boxes` (K, 4: x1, y1, x2, y2 in
the input's pixels), `scores` (K,), `labels` (K,: class indices, the card's `classes` order). torchvision's
detectors export through the TorchScript-based exporter (torch.export cannot trace their data-dependent NMS).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from workbench.atomic import atomic_path, write_bytes, write_json
from workbench.detect.data import eval_transform, read_image
from workbench.detect.evaluate import load_detection_evaluation
from workbench.detect.model import LoadedDetector, load_detector
from workbench.detect.predict import DEFAULT_MIN_SCORE
from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.train.data import IMAGENET_MEAN, IMAGENET_STD
from workbench.run import Run

BOX_TOLERANCE = 1e-2  # pixels: max |ONNX - PyTorch| over box corners
SCORE_TOLERANCE = 1e-4
OPSET = 17
STANDALONE_SCRIPT = Path(__file__).with_name("predict_onnx_boxes.py")
ort = lazy_import("onnxruntime")  # only exports and their parity checks need it


class OneImage(nn.Module):
    """The detector on one image tensor with plain tensor outputs (what ONNX can hold), labels as class indices."""

    def __init__(self, model: nn.Module, offset: int):
        super().__init__()
        self.model, self.offset = model, offset

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(boxes, scores, class indices) of one (3, H, W) image in [0, 1]."""
        out = self.model([image])[0]
        return out["boxes"], out["scores"], out["labels"] - self.offset


@dataclass
class DetectorExport:
    run: str
    model_file: Path
    card_file: Path
    max_box_diff: float
    max_score_diff: float
    files: list[Path] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"Exported detection run {self.run!r} as onnx: {self.model_file} (card: {self.card_file.name}); "
                f"max |ONNX - PyTorch| = {self.max_box_diff:.2e} px on boxes, {self.max_score_diff:.2e} on scores "
                "over the check images")


def export_detector(run: Run, out: str | Path | None = None, which: str = "best") -> DetectorExport:
    """Write the run's detector as model.onnx into `out` (default checkpoints/<run>/export-onnx/) with
    model_card.json and predict_onnx_boxes.py, after checking it against PyTorch on images of the run's set."""
    folder = Path(out) if out else run.folder / "export-onnx"
    if folder.exists() and not folder.is_dir():
        raise WorkbenchError(f"{folder} is a file; give a folder to export into.")
    loaded = load_detector(run.folder, which, device="cpu")
    loaded.model.to(memory_format=torch.contiguous_format)
    model = OneImage(loaded.model, loaded.offset).eval()
    checks = check_images(run, loaded)
    target = folder / "model.onnx"
    with atomic_path(target) as tmp:  # a failed check leaves an earlier export in place
        write_onnx(model, checks[0], tmp)
        box_diff, score_diff = parity(model, tmp, checks)
        if box_diff > BOX_TOLERANCE or score_diff > SCORE_TOLERANCE:
            raise WorkbenchError(f"The ONNX export of {run.name!r} differs from PyTorch by {box_diff:.2e} px on boxes "
                                 f"and {score_diff:.2e} on scores (over {BOX_TOLERANCE:g} / {SCORE_TOLERANCE:g}); "
                                 "not written.")
    card = detection_card(run, loaded, which)
    card["verification"] = {"images": len(checks), "max_box_diff": box_diff, "max_score_diff": score_diff,
                            "box_tolerance": BOX_TOLERANCE, "score_tolerance": SCORE_TOLERANCE}
    card_file = write_json(folder / "model_card.json", card, allow_nan=False)
    script = write_bytes(folder / STANDALONE_SCRIPT.name, STANDALONE_SCRIPT.read_bytes())
    return DetectorExport(run.name, target, card_file, box_diff, score_diff, [target, card_file, script])


def check_images(run: Run, loaded: LoadedDetector, n: int = 2) -> list[torch.Tensor]:
    """`n` images of the run's own set as the model's input (resized, in [0, 1]): boxes to compare exist on them."""
    dataset, store = loaded.config.dataset, run.ws.store
    paths = store.images(dataset).path.head(n).tolist() if dataset in store.datasets() else []
    transform = eval_transform(loaded.config.detect.image_size)
    found = [transform(read_image(p)).as_subclass(torch.Tensor) for p in paths]
    size = loaded.config.detect.image_size
    gen = torch.Generator().manual_seed(0)
    return found or [torch.rand(3, size * 3 // 4, size, generator=gen) for _ in range(n)]


def write_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """The TorchScript-based exporter, height and width dynamic, weights inside the file."""
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer notices about the detector's Python control flow
            torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=OPSET,
                              input_names=["image"], output_names=["boxes", "scores", "labels"],
                              dynamic_axes={"image": {1: "height", 2: "width"}, "boxes": {0: "boxes"},
                                            "scores": {0: "boxes"}, "labels": {0: "boxes"}})
    except Exception as e:
        raise WorkbenchError(f"ONNX export failed: {type(e).__name__}: {str(e).splitlines()[0][:300]}") from e


@torch.no_grad()
def parity(model: nn.Module, path: Path, images: list[torch.Tensor]) -> tuple[float, float]:
    """Largest |ONNX Runtime - PyTorch| on box corners and on scores over `images`; inf when the box counts differ."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    box_diff = score_diff = 0.0
    for image in images:
        boxes, scores, labels = (t.numpy() for t in model(image))
        got = session.run(None, {"image": image.numpy()})
        if got[0].shape != boxes.shape or not np.array_equal(got[2], labels):
            return float("inf"), float("inf")
        if len(boxes):
            box_diff = max(box_diff, float(np.abs(got[0] - boxes).max()))
            score_diff = max(score_diff, float(np.abs(got[1] - scores).max()))
    return box_diff, score_diff


def detection_card(run: Run, loaded: LoadedDetector, checkpoint: str) -> dict:
    """What a user without Workbench needs: classes, input, preprocessing, outputs, score floor, data, metrics."""
    cfg, size = loaded.config, loaded.config.detect.image_size
    evaluation = load_detection_evaluation(run)
    images = loaded.dataset_info.get("images", [])
    return {
        "run": cfg.name, "task": "detection", "checkpoint": checkpoint, "format": "onnx", "file": "model.onnx",
        "exported_at": time.strftime("%Y-%m-%d %H:%M:%S"), "classes": list(loaded.classes),
        "input": {"name": "image", "shape": [3, "height", "width"], "dtype": "float32", "layout": "CHW",
                  "size": size, "range": [0.0, 1.0]},
        "outputs": {"boxes": "(K, 4) x1, y1, x2, y2 in the input image's pixels, best first",
                    "scores": "(K,) confidence of each box", "labels": "(K,) class index into `classes`"},
        "preprocessing": ["decode the image, apply its EXIF rotation, flatten any alpha channel on white",
                          "convert to 8-bit RGB",
                          f"resize so that the longer side is {size} pixels (keep the aspect ratio; bilinear, "
                          "antialiased), and remember the factor to map boxes back to the original image",
                          "scale pixel values to [0, 1] (divide by 255) as float32, laid out as (3, height, width)"],
        "normalisation_inside_model": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "min_score": evaluation.score_threshold if evaluation else DEFAULT_MIN_SCORE,
        "min_score_source": "chosen on the val split (best box F1) when the run was evaluated" if evaluation else
                            "default (the run was not evaluated)",
        "detector": cfg.detect.detector, "backbone": cfg.backbone, "method": cfg.method, "weights": cfg.weights,
        "training_data": {"dataset": loaded.dataset_info.get("dataset"), "split_seed": loaded.dataset_info.get("split_seed", loaded.dataset_info.get("seed")),
                          "images": len(images), "boxes": sum(i.get("boxes", 0) for i in images),
                          "split_sizes": {s: sum(1 for i in images if i["split"] == s)
                                          for s in ("train", "val", "test")}},
        "training": {"epochs": cfg.epochs, "seed": cfg.seed, "optimizer": cfg.optimizer, "lr": cfg.lr},
        "metrics": evaluation.to_dict()["metrics"] | {"intervals": evaluation.intervals, "split": evaluation.split,
                                                      "images": evaluation.n} if evaluation else None,
    }
