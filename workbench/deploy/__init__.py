"""Deploying a trained run: export to ONNX or TorchScript with a model card a user without Workbench can follow."""

from workbench.deploy.card import model_card
from workbench.deploy.export import EXPORTERS, ExportResult, export_model

__all__ = ["EXPORTERS", "ExportResult", "export_model", "model_card"]
