"""Who may call what: roles of logged-in users (admin or annotator) and the operations open to annotators.

Pure policy, no web framework: the UI asks `Access.refusal(user, operation)` before every call it runs.
Without logins (a single local user) nothing is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from workbench.errors import WorkbenchError
from workbench.labeling.orders import ORDERS_BY_OTHERS

ADMIN, ANNOTATOR = "admin", "annotator"

LABEL_PAGE = "label"  # the annotators' page, /label
LABEL_MODULE = "workbench.ui.label_tab"
BOXES_MODULE = "workbench.ui.label_boxes"  # the Label tab's Boxes mode

# Label-tab handlers an annotator may call (on /label, or in the main page's Label tab: the same API names), each
# with whether it shows other annotators' work (refused to annotators in blind labelling): start a session, label /
# skip / undo / tag as themselves, switch views, page and select the grid, bulk-label their selection or accept its
# suggested labels (all their own work; which images a session or grid page shows is the order's, see
# ORDERS_BY_OTHERS); the Review view (agreement, disputed images and opening one) shows everyone's labels.
# Adding classes or tags, settling disputes and exporting stay with admins, as does every other tab.
ANNOTATOR_HANDLERS: dict[str, bool] = {
    "on_start": False, "act": False, "on_action": False, "on_more_class": False, "on_dataset": False, "on_load": False, "on_goto": False, "show_one_image": False, "on_mode": False,
    "on_show": False, "show_grid_if_open": False, "on_redraw": False, "on_pick": False, "select_all": False,
    "select_none": False,
    "bulk.run": False, "on_accept_page": False,  # accept the model's suggestions on a grid page, as oneself
    "on_refresh": True, "open_in_labeller": True, "show_disputed": True,  # the Review view
}
# Boxes-mode handlers an annotator may call: open their boxes (at the detector's score floor), and every drawing
# operation (as themselves: a box is changed only by its owner, and a session shows only its annotator's boxes).
# Adding box classes stays with admins.
ANNOTATOR_BOX_HANDLERS: dict[str, bool] = {"on_boxes_start": False, "on_box_event": False, "on_boxes_dataset": False}
# the UI shell's own events, open to every user: the landing check that sends annotators to /label, and the
# dataset pickers' list of datasets (on /label too)
SHELL_HANDLERS = frozenset({("workbench.ui.guard", "send_annotators_to_label_page.landing"),
                            ("workbench.ui.pickers", "dataset_choices")})
# handlers that show every annotator's labels (agreement, disagreements): refused to annotators when labelling is blind
SHOWS_OTHERS_LABELS = frozenset(h for handlers in (ANNOTATOR_HANDLERS, ANNOTATOR_BOX_HANDLERS)
                                for h, others in handlers.items() if others)
# the handlers' input naming the queue order: orders built on others' work are refused in blind labelling too
ORDER_INPUT = "order_"


@dataclass(frozen=True)
class Operation:
    """One event handler of the app: the page it is on ("" main page), its module and its name there."""

    page: str
    module: str
    handler: str

    def __str__(self) -> str:
        return f"{self.handler} in {self.module.rsplit('.', 1)[-1]} on page /{self.page}"


@dataclass(frozen=True)
class Access:
    """The login policy: `users` with passwords (empty: no login, everything open), `admins` among them."""

    users: frozenset[str] = field(default_factory=frozenset)
    admins: frozenset[str] = field(default_factory=frozenset)
    blind: bool = False  # annotators do not see other annotators' labels

    def __post_init__(self):
        if (self.admins or self.blind) and not self.users:
            raise WorkbenchError("--admin and --blind need logins: give --auth USER:PASSWORD for each user.")
        unknown = sorted(self.admins - self.users)
        if unknown:
            raise WorkbenchError(f"--admin names a user without a login: {', '.join(unknown)} "
                                 f"(users: {', '.join(sorted(self.users))}).")

    @classmethod
    def of(cls, auth: list[tuple[str, str]] | None, admins: list[str] | None = None, blind: bool = False) -> "Access":
        """From launch options: (user, password) logins, admin user names, blind labelling."""
        return cls(users=frozenset(u for u, _ in auth or []), admins=frozenset(admins or []), blind=blind)

    @property
    def logins(self) -> bool:
        """Whether users log in (else one local user, who may do everything)."""
        return bool(self.users)

    def role(self, user: str | None) -> str:
        """admin for admins, and for everyone when there are no logins; annotator otherwise."""
        return ADMIN if not self.logins or user in self.admins else ANNOTATOR

    def refusal(self, user: str | None, op: Operation, inputs: Mapping[str, Any] | None = None) -> str | None:
        """Why `user` may not call `op` with these `inputs` (by parameter name), or None when they may."""
        if self.role(user) == ADMIN:
            return None
        if (op.module, op.handler) in SHELL_HANDLERS:
            return None
        allowed = {LABEL_MODULE: ANNOTATOR_HANDLERS, BOXES_MODULE: ANNOTATOR_BOX_HANDLERS}.get(op.module, ())
        if op.handler not in allowed:
            return (f"{user or 'This user'} is an annotator: annotators label at /{LABEL_PAGE}, and only that "
                    f"is open to them (refused: {op}). Ask an admin.")
        if self.blind and (op.handler in SHOWS_OTHERS_LABELS or (inputs or {}).get(ORDER_INPUT) in ORDERS_BY_OTHERS):
            return ("Blind labelling: annotators do not see other annotators' work (no Review view, and no order "
                    f"built on their labels, tags or accepted suggestions: {', '.join(sorted(ORDERS_BY_OTHERS))}).")
        return None

    def annotator_name(self, user: str | None, typed: str | None) -> str | None:
        """The name labels are recorded under: the login when there are logins, else what was typed."""
        return user if self.logins else typed
