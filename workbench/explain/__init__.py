"""Explanations: Grad-CAM family maps for timm/torchvision CNNs, batched, with readable overlays."""

from workbench.explain.cam import compute_cams, explain_images, overlay, run_layer
from workbench.explain.layers import TARGET_LAYERS, ChosenLayer, choose_layer, target_layer, valid_layer_names
from workbench.explain.methods import LABELS, METHODS, method_class

__all__ = ["LABELS", "METHODS", "TARGET_LAYERS", "ChosenLayer", "choose_layer", "compute_cams", "explain_images",
           "method_class", "overlay", "run_layer", "target_layer", "valid_layer_names"]
