"""A detector's suggested boxes are one per object: its per-class suppression leaves a box of each class an object
resembles (a 3 that also scores as an 8), and each extra box would cost the annotator a delete."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image

from workbench.labeling.box_suggest import detector_boxes, one_per_object
from workbench.labeling.box_cost import image_cost


@dataclass
class Found:
    """What a workbench.detect LoadedDetector answers for one image: the detector's own boxes, given here."""

    classes: list[str]
    boxes: list[tuple[list[float], float, int]]  # (x1, y1, x2, y2), score, class index

    def detect(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        return [{"boxes": torch.tensor([b for b, _, _ in self.boxes], dtype=torch.float32).reshape(-1, 4),
                 "scores": torch.tensor([s for _, s, _ in self.boxes]),
                 "labels": torch.tensor([k for _, _, k in self.boxes], dtype=torch.int64)}]


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "scene.png"
    Image.fromarray(np.zeros((120, 160, 3), np.uint8)).save(path)
    return str(path)


def test_two_classes_on_one_object_give_one_suggestion_of_the_better_class(photo):
    three = [20.0, 20.0, 60.0, 70.0]
    eight = [22.0, 21.0, 61.0, 72.0]  # IoU ~0.9 with the 3: the same object
    elsewhere = [100.0, 30.0, 140.0, 80.0]
    loaded = Found(["3", "8"], [(three, 0.9, 0), (eight, 0.7, 1), (elsewhere, 0.6, 1)])
    got = detector_boxes(loaded, photo, ["3", "8"], min_score=0.5)
    assert [(b["label"], b["x"], b["confidence"]) for b in got] == [("3", 20.0, pytest.approx(0.9)),
                                                                    ("8", 100.0, pytest.approx(0.6))]
    truth = [{"label": "3", "x": 20, "y": 20, "w": 40, "h": 50}, {"label": "8", "x": 100, "y": 30, "w": 40, "h": 50}]
    assert image_cost(truth, got).rejected == 0  # nothing left for the annotator to delete


def test_boxes_that_only_touch_both_stay_and_no_boxes_is_no_boxes():
    found = {"boxes": torch.tensor([[0.0, 0, 40, 40], [30.0, 0, 70, 40]]), "scores": torch.tensor([0.8, 0.7]),
             "labels": torch.tensor([0, 1])}  # IoU 0.14: two objects side by side
    assert one_per_object(found)["labels"].tolist() == [0, 1]
    empty = {"boxes": torch.zeros((0, 4)), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.int64)}
    assert len(one_per_object(empty)["boxes"]) == 0
