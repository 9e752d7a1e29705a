"""Predict new images with a trained run: files, folders, zips or uploads -> class probabilities and decisions."""

from workbench.predict.explain import Explainable, ExplainedPrediction, explain_prediction
from workbench.predict.predict import Predictions, decide, predict_paths, predict_sources, probability_columns
from workbench.predict.sources import ImageSource, gather, short_names

__all__ = ["Explainable", "ExplainedPrediction", "ImageSource", "Predictions", "decide", "explain_prediction", "gather",
           "predict_paths", "predict_sources", "probability_columns", "short_names"]
