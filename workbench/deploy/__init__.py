"""Deploying a trained run: export to ONNX or TorchScript (`export.py`) with a model card a user without Workbench
can follow (`card.py`) and a standalone `predict_onnx.py`. Import from the modules themselves."""
