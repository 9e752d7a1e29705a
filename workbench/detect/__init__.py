"""Object detection on the same core: composed data aside (data/scenes.py), a detector per run (model.py), box data and
augmentation (data.py), training (train.py), mAP (map.py), evaluation, box errors and their gallery (evaluate.py,
errors.py, gallery.py), run comparison (compare.py), prediction (predict.py) and ONNX export (export.py)."""
