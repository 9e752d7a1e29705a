"""Explanations: Grad-CAM family maps for timm/torchvision CNNs, batched, with readable overlays (`cam.py`), their
target layers (`layers.py`), methods by name (`methods.py`), cached thumbnails (`cache.py`) and PNG export.

Import from the modules themselves: importing this package imports nothing (the method names are read by pages
that compute no map).
"""
