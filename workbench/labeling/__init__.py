"""Labelling core: per-annotator queues and sessions, tags, grid bulk labelling, label suggestions (suggest.py,
verify pages, provenance), agreement, export and the label-efficiency curve.

Never imports gradio: the Label tab and the `workbench export` command are thin layers over this package.
"""

from workbench.labeling.agreement import disagreements, pairwise_kappa, settle
from workbench.labeling.export import export_table, write_download, write_export
from workbench.labeling.grid import GridPage, accept_page, bulk_label, bulk_tag, grid_page, verify_page
from workbench.labeling.keys import RESERVED_KEYS, button_action, tag_keys
from workbench.labeling.queue import ORDERS, build_queue, only_filter
from workbench.labeling.session import (LabelSession, LabelView, accept, apply_action, do, goto, label, label_key,
                                        open_image, open_session, previous, queue_next, skip, step,
                                        take_left_out, toggle_tag, undo, view)
from workbench.labeling.suggest import Suggester, SuggesterPool, Suggestions

__all__ = [
    "ORDERS", "RESERVED_KEYS", "GridPage", "LabelSession", "LabelView", "Suggester", "SuggesterPool", "Suggestions",
    "accept", "accept_page", "apply_action", "build_queue", "bulk_label", "bulk_tag", "button_action",
    "disagreements", "do", "export_table", "goto", "grid_page", "label", "label_key", "only_filter", "open_image",
    "open_session", "pairwise_kappa", "previous", "queue_next", "settle", "skip", "step", "tag_keys",
    "take_left_out", "toggle_tag", "undo", "verify_page", "view", "write_download", "write_export",
]
