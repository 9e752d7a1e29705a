"""Test-split evaluation of a trained run: metrics, confusion matrix and ROC, saved next to the run."""

from workbench.evaluate.dataset_check import DatasetChanged
from workbench.evaluate.evaluate import (Evaluation, evaluate_run, load_evaluation, load_predictions, probs_of,
                                         roc_curves)
from workbench.evaluate.plots import confusion_figure, roc_figure
from workbench.evaluate.threshold import Threshold, choose_threshold, load_threshold, run_threshold

__all__ = ["DatasetChanged", "Evaluation", "confusion_figure", "evaluate_run", "load_evaluation", "load_predictions",
           "probs_of", "roc_curves", "roc_figure", "Threshold", "choose_threshold", "load_threshold", "run_threshold"]
