"""Errors a user can act on. Each message names what was wrong and where."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class: the message is shown to the user as is."""


class UnknownDataset(WorkbenchError):
    """No dataset of that name; the message lists the known ones."""


class ImportFailed(WorkbenchError):
    """An import was refused; nothing was written. `problems` lists (file, reason)."""

    def __init__(self, problems: list[tuple[str, str]], hint: str = ""):
        self.problems = problems
        lines = [f"{f}: {r}" for f, r in problems[:20]]
        if len(problems) > 20:
            lines.append(f"... and {len(problems) - 20} more")
        msg = f"Import refused, nothing was imported ({len(problems)} problem(s)):\n  " + "\n  ".join(lines)
        if hint:
            msg += "\n" + hint
        super().__init__(msg)


class BadImage(WorkbenchError):
    """One file that cannot be read as an image; the message names file and reason."""
