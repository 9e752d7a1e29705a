"""CAM methods by name: one small registry over pytorch-grad-cam's classes.

The classes are looked up when a map is first made: pages and commands that only offer the methods by name (the
Evaluate tab, `workbench explain --help`) do not import pytorch-grad-cam, and with it torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import

if TYPE_CHECKING:  # annotations only: grad_cam below
    from pytorch_grad_cam.base_cam import BaseCAM

grad_cam = lazy_import("pytorch_grad_cam")

METHODS: dict[str, str] = {  # name -> pytorch-grad-cam class
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "eigencam": "EigenCAM",  # class-agnostic: first principal component of the activations
}

# What the UI shows; keys of METHODS are what the CLI and code accept.
LABELS = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "eigencam": "EigenCAM"}


def method_class(name: str) -> type[BaseCAM]:
    """The pytorch-grad-cam class for a method name (case-insensitive; 'Grad-CAM++' works too)."""
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key not in METHODS:
        raise WorkbenchError(f"Unknown CAM method {name!r}; choose one of: {', '.join(METHODS)}.")
    return getattr(grad_cam, METHODS[key])
