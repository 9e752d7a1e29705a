"""The report of a study in one HTML file: each section built from what the core computed and saved, in order,
the ones without data left out."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workbench.atomic import atomic_path
from workbench.report import document as doc
from workbench.report.categories import categories_section
from workbench.report.chosen import chosen_section
from workbench.report.data import data_section
from workbench.report.failures import failures_section
from workbench.report.methods import methods_section
from workbench.report.reproduce import reproduce_section, versions
from workbench.report.study import Study

Progress = Callable[[float, str], None]

# (what the progress line says, builder): a builder returns its Section, or None when it has nothing to show
SECTIONS: tuple[tuple[str, Callable], ...] = (
    ("data: counts, provenance, agreement, duplicates", lambda study, p: data_section(study)),
    ("categories: collages", lambda study, p: categories_section(study)),
    ("methods: comparison and curves", lambda study, p: methods_section(study)),
    ("the chosen run: curves and test evaluation", lambda study, p: chosen_section(study)),
    ("failures: errors per category, Grad-CAM, label errors", failures_section),
    ("reproduce: commands, versions, hashes", lambda study, p: reproduce_section(study)),
)


@dataclass(frozen=True)
class Report:
    """A written report: where it is, and its sections (their pass/warn lines: what the CLI and the app sum up)."""

    path: Path
    sections: list[doc.Section]

    @property
    def warnings(self) -> list[str]:
        """Every 'warn' line, prefixed with its section's title."""
        return [f"{s.title}: {c.text}" for s in self.sections for c in s.checks if c.level == "warn"]


def report_sections(study: Study, progress: Progress | None = None) -> list[doc.Section]:
    """Every section with data, in order."""
    progress = progress or (lambda f, m: None)
    sections = []
    for i, (what, build) in enumerate(SECTIONS):
        progress(i / len(SECTIONS), what)
        sub = lambda f, m, i=i: progress((i + f) / len(SECTIONS), m)  # noqa: E731
        section = build(study, sub)
        if section is not None:
            sections.append(section)
    progress(1.0, "writing the page")
    return sections


def report_page(study: Study, sections: list[doc.Section]) -> str:
    """The HTML page of these sections, numbered in order, under the study's title."""
    runs = f"{len(study.runs)} run{'s' if len(study.runs) != 1 else ''}"
    about = f"comparison {study.comparison} ({runs})" if study.comparison else runs
    version = dict(versions()).get("image-workbench", "?")
    return doc.page(f"Workbench report: {study.dataset}",
                    f"{about} · written {time.strftime('%Y-%m-%d %H:%M')} by Workbench {version}", sections)


def build_report(study: Study, progress: Progress | None = None) -> str:
    """The report's HTML: every section with data, numbered in order."""
    return report_page(study, report_sections(study, progress))


def write_report(study: Study, out: str | Path, progress: Progress | None = None) -> Report:
    """Build the report and write it to `out` atomically (a reader never sees half a page)."""
    out = Path(out)
    sections = report_sections(study, progress)
    page = report_page(study, sections)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return Report(out, sections)
