"""Workbench: label, train, evaluate and review image classifiers."""

__version__ = "0.1.0"
