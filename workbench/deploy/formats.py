"""The formats a run can be exported as, by name: what `workbench export-model --format` offers, without importing
torch to list them (`export.EXPORTERS` has one exporter for each, in this order)."""

FORMATS = ("onnx", "torchscript")
