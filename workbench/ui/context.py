"""What every tab is built with: the core objects it calls and the few components tabs share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.store import Store


@dataclass
class UIContext:
    """Shared by all tabs of one app instance (not a module global: two apps in one process stay apart).

    `demo` is the gr.Blocks (for demo.load / demo.unload listeners, e.g. to restore state after a refresh);
    `goto` is a gr.State holding {"dataset": str, "image_id": int} that other tabs set to open an image
    in the Label tab; `tabs` is the gr.Tabs so a tab can switch to another (`gr.Tabs(selected=id)`).
    `services` holds app-wide core objects a tab registers (e.g. the background training jobs).
    """

    store: Store
    demo: Any = None
    tabs: Any = None
    goto: Any = None
    services: dict[str, Any] = field(default_factory=dict)
