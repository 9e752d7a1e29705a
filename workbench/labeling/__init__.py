"""Labelling core: per-annotator queues and sessions, tags, grid bulk labelling, agreement and export.

Never imports gradio: the Label tab and the `workbench export` command are thin layers over this package.
"""

from workbench.labeling.agreement import disagreements, pairwise_kappa, settle
from workbench.labeling.export import export_table, write_download, write_export
from workbench.labeling.grid import GridPage, bulk_label, bulk_tag, grid_page
from workbench.labeling.keys import RESERVED_KEYS, tag_keys
from workbench.labeling.queue import ORDERS, build_queue
from workbench.labeling.session import (LabelSession, LabelView, apply_action, goto, label, label_key, open_session,
                                        previous, skip, toggle_tag, undo, view)

__all__ = [
    "ORDERS", "RESERVED_KEYS", "GridPage", "LabelSession", "LabelView", "apply_action", "build_queue", "bulk_label",
    "bulk_tag", "disagreements", "export_table", "goto", "grid_page", "label", "label_key", "open_session",
    "pairwise_kappa", "previous", "settle", "skip", "tag_keys", "toggle_tag", "undo", "view", "write_download",
    "write_export",
]
