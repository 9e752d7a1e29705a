"""The study handed over: one self-contained HTML report of a dataset and its runs (data, categories, methods, the
chosen run, failures, how to reproduce), built from what the core computed and saved. Opens with no network and
no Workbench: images are data URIs, plots are plotly figures drawn by the plotly.js inlined in the page."""

from workbench.report.build import Report, build_report, write_report
from workbench.report.study import Study, comparison_dataset, open_study

__all__ = ["Report", "Study", "build_report", "comparison_dataset", "open_study", "write_report"]
