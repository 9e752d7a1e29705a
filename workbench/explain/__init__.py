"""Explanations: Grad-CAM family maps for timm/torchvision CNNs, batched, with readable overlays."""

from workbench.explain.cam import compute_cams, explain_images, overlay
from workbench.explain.layers import TARGET_LAYERS, target_layer, valid_layer_names
from workbench.explain.methods import LABELS, METHODS, method_class

__all__ = ["LABELS", "METHODS", "TARGET_LAYERS", "compute_cams", "explain_images", "method_class", "overlay", "target_layer",
           "valid_layer_names"]
