"""CAM methods by name: one small registry over pytorch-grad-cam's classes."""

from __future__ import annotations

from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus
from pytorch_grad_cam.base_cam import BaseCAM

from workbench.errors import WorkbenchError

METHODS: dict[str, type[BaseCAM]] = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "eigencam": EigenCAM,  # class-agnostic: first principal component of the activations
}

# What the UI shows; keys of METHODS are what the CLI and code accept.
LABELS = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "eigencam": "EigenCAM"}


def method_class(name: str) -> type[BaseCAM]:
    """The pytorch-grad-cam class for a method name (case-insensitive; 'Grad-CAM++' works too)."""
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key not in METHODS:
        raise WorkbenchError(f"Unknown CAM method {name!r}; choose one of: {', '.join(METHODS)}.")
    return METHODS[key]
