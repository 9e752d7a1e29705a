"""The model-randomisation sanity check of saliency maps (Adebayo et al., 2018, "Sanity checks for saliency maps").

A map that shows what a model learned must change when the model's learned weights are destroyed. The check
re-initialises the model's layers one stage at a time from the top (the head first, then the last stage, and so on
down to the stem, each time keeping the stages already randomised), recomputes the maps of the same images for the
same classes, and reports the Spearman rank correlation between each image's trained and randomised maps (mean over
images). Near 1: the map barely depends on the learned weights (it mostly traces the image, e.g. its edges); near 0
or below: it does, as it should.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from scipy import stats
from torch import nn

from workbench.explain.cam import compute_cams

MEANING = ("Spearman rank correlation between the trained model's maps and those of the model with its layers "
           "re-initialised from the top (Adebayo et al., 2018): near 1 means the map does not depend on what the model "
           "learned (it traces the image), near 0 means it does, as a faithful map should.")


@dataclass
class SanityCheck:
    """Mean (over images) Spearman correlation of trained vs randomised maps after each cumulative randomisation
    step, named by the top-level stage re-initialised last; `images` how many images the means are over."""

    steps: list[tuple[str, float]] = field(default_factory=list)
    images: int = 0

    def describe(self) -> str:
        """'fc 0.12 · layer4 0.05 · ...' then the meaning in one line."""
        values = " · ".join(f"{name} {value:.2f}" if np.isfinite(value) else f"{name} n/a" for name, value in self.steps)
        return (f"Sanity check (model randomisation, {self.images} image(s)), layers re-initialised from the top, "
                f"mean Spearman correlation with the trained maps: {values}\n{MEANING}")


def _stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's stages that hold weights, last (nearest the output) first: its top-level children, and the
    stages inside a sequence of sequences (EfficientNet's `blocks`), which would otherwise be one step."""
    stages = []
    for name, child in model.named_children():
        if isinstance(child, nn.Sequential) and all(isinstance(c, nn.Sequential) for c in child):
            stages += [(f"{name}.{i}", c) for i, c in enumerate(child)]
        else:
            stages.append((name, child))
    return [(name, m) for name, m in reversed(stages) if any(True for _ in m.parameters())]


def _reinitialise(module: nn.Module) -> None:
    for m in module.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()  # BatchNorm: weight 1, bias 0 and fresh running statistics


def map_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation of each pair of maps (N, H, W); NaN where either map is constant."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        for x, y in zip(a, b):
            out.append(stats.spearmanr(x.ravel(), y.ravel()).statistic)
    return np.asarray(out, dtype=float)


def randomisation_check(model: nn.Module, inputs: torch.Tensor, targets: Sequence[int], method: str = "gradcam",
                        layer: str | None = None, seed: int = 0) -> SanityCheck:
    """Cascading randomisation of a copy of `model` (the model itself is untouched): the CAMs of `inputs` for
    `targets` at `layer` (a layer name as `compute_cams` resolves it) after each stage is re-initialised."""
    trained = compute_cams(model, inputs, list(targets), method, layer)
    randomised = copy.deepcopy(model)
    torch.manual_seed(seed)
    result = SanityCheck(images=len(inputs))
    for name, stage in _stages(randomised):
        _reinitialise(stage)
        maps = compute_cams(randomised, inputs, list(targets), method, layer)
        rho = map_correlation(trained, maps)
        result.steps.append((name, float(np.nanmean(rho)) if np.isfinite(rho).any() else float("nan")))
    return result
