"""Test-split evaluation of a trained run: metrics, confusion matrix and ROC, saved beside the run; its decision
threshold and operating point; when a saved evaluation is stale; the report read by the CLI and the tab.

Import from the modules themselves (`workbench.evaluate.evaluate`, `.threshold`, `.records`, ...): importing this
package imports nothing, so the records the run handle reads do not pull in scikit-learn or torch.
"""
