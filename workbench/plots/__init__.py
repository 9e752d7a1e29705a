"""Plots of training runs: per-epoch curves of several runs overlaid (plotly), saved as HTML and PNG."""

from workbench.plots.curves import curves_figure, methods_figure, save_curves

__all__ = ["curves_figure", "methods_figure", "save_curves"]
