"""Predict new images with a trained run: files, folders, zips or uploads -> class probabilities and decisions
(`predict.py`), what a row needs to be explained later (`explainable.py`), its Grad-CAM (`explain.py`).

Import from the modules themselves: importing this package imports nothing, so the light ones (image sources,
Explainable) do not pull in torch.
"""
