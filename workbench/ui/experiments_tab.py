"""Experiments tab: start and cancel training runs in the background, watch live curves,
overlay finished runs, and compare fine-tuning with feature extraction over seeds (paired by seed on one split, test
metrics with intervals, three baselines, a verdict). When a job ends the Runs table refreshes itself, and a
comparison's verdict, tables and method plot appear.

`layout` builds the components (the run form from RunConfig's settings: labels, help, defaults and choices
come from workbench.train.config), the module's handlers call workbench.train and shape its results for
display, `wire` connects them (the form's inputs passed by setting name).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.evaluate.comparison import COMPARISON_FILE, Comparison, shown_pairs, shown_table
from workbench.lazy import lazy_import
from workbench.store import Store
from workbench.train.config import AUGMENTATIONS, RunConfig, Setting, config_from, random_features_caveat, settings
from workbench.train.jobs import Job, JobManager
from workbench.run import Run, list_runs, runs_table
from workbench.workspace import Workspace
from workbench.ui.context import UIContext
from workbench.ui.handlers import bind
from workbench.ui.label_efficiency_panel import build_label_efficiency
from workbench.ui.report_panel import build_report_panel

# the curves (plotly, matplotlib) and the method-grouped plot: imported when first drawn, not to serve the first page
curves = lazy_import("workbench.plots.curves")
compare = lazy_import("workbench.train.compare")

# building a model to measure its last feature map needs torch and timm: imported when the form first asks
stems = lazy_import("workbench.train.stems")

SETTINGS = {s.name: s for s in settings()}
MAP_INPUTS = ("method", "backbone", "input_size", "stem")  # what the last feature map's size depends on
NO_COMPARISON = "No comparison yet: run *Compare methods*, or pick runs above."
FE_NOTE = ("**Feature extraction** embeds every image once with the frozen backbone and trains only the head on the "
           f"cached embeddings at {SETTINGS['head_lr_scale'].default:g}× the learning rate set here, so **augmentations "
           "are off** in that mode. **Fine-tuning** trains the whole network "
           "on augmented batches. Offline weights: ImageNet EfficientNet-Lite0 (bundled); `timm` downloads "
           "(needs network); or give a path to a .pth/.safetensors file. **Compare methods** trains both methods "
           "for each seed (from the seed set here) on one split (the split seed, by default the first seed), so every "
           "run and baseline is tested on the same images and differences are paired by seed; **Resample splits** "
           "gives each seed its own split instead (repeated hold-out). Each run is evaluated on its test split, and "
           "three baselines are fitted on each seed's split: logistic regression and an RBF SVM on the raw pixels, "
           "and a linear probe on the frozen backbone's embeddings (hyper-parameters by cross-validation on train). "
           "The table gives test metrics with 95% intervals over seeds; below it, the paired differences and a "
           "verdict. **Detection**: a set with boxes and no image labels trains a detector (Task *auto*, or "
           "*detection* for a set with both) of the chosen kind at the detection image size; fine-tuning trains the "
           "backbone from its third stage, feature extraction freezes it; the curves show loss and val mAP.")

# the run form, row by row: every setting RunConfig shows in a form (Setting.form), by name
FORM_ROWS = (("dataset", "task", "method", "backbone", "weights"),
             ("grouping", "input_size", "stem", "epochs", "batch_size", "seed", "split_seed"),
             ("optimizer", "lr", "schedule", "name"),
             ("flip", "rotation", "crop_scale", "normalize"),
             ("detector", "image_size"))
# how an input looks here (width, element id, widget); its label, help, default and choices come from the setting
LOOK: dict[str, dict[str, Any]] = {
    "dataset": {"scale": 2, "elem_id": "wb-exp-dataset"},
    "method": {"widget": gr.Radio, "scale": 2},
    "backbone": {"scale": 2},
    "weights": {"scale": 2},
    "grouping": {"scale": 3, "placeholder": "cigs=tobacco, pipes=tobacco, other=other"},
    "input_size": {"elem_id": "wb-exp-size"},
    "stem": {"widget": gr.Radio, "scale": 2, "elem_id": "wb-exp-stem"},
    "epochs": {"elem_id": "wb-exp-epochs"},
    "name": {"scale": 2},
    "rotation": {"widget": gr.Slider, "minimum": 0, "maximum": 45, "step": 1},
    "crop_scale": {"widget": gr.Slider, "minimum": 0.3, "maximum": 1.0, "step": 0.05},
}
# run, dataset, method, backbone, seed, status, epochs, best epoch, best val loss, val accuracy, val mAP@0.5: fits
# the page, short headers kept whole (narrow auto widths broke "seed" into "se/ed"); at 1280 px "feature_extract" and
# "efficientnet_lite0" whole (they broke into "feature_extra/ct", "efficientnet_lit/e0"; run names break at hyphens)
RUNS_COLUMN_WIDTHS = ["15%", "7%", "13%", "15%", "5%", "8%", "6%", "6%", "8%", "8%", "9%"]
# job, what, status, progress, message: the message wraps in its cell (it ran past the table's edge, cut)
JOBS_COLUMN_WIDTHS = ["5%", "32%", "9%", "8%", "46%"]
# method, backbone, weights, input size, epochs, seeds, four test metrics with intervals, two val means ("efficientnet_lite0"
# and the header "val accuracy" whole at 1280 px: they broke into "efficientnet_li/te0" and "accurac/y")
METHODS_COLUMN_WIDTHS = ["13%", "14%", "7%", "5%", "6%", "5%", "9%", "9%", "9%", "9%", "7.5%", "6.5%"]


@dataclass
class RunForm:
    """One input per form setting (`inputs`, by setting name), what to know about them (`caveat`), and the buttons
    that queue or cancel jobs."""

    inputs: dict[str, gr.components.Component]
    caveat: gr.Markdown
    map_note: gr.Markdown  # the last feature map's size, and the warning when feature extraction pools one under 3x3
    start: gr.Button
    seeds: gr.Number
    resample: gr.Checkbox
    compare: gr.Button
    cancel: gr.Button


@dataclass
class JobsPanel:
    """The jobs: status line, progress bar, table, the picked job, live curves, and the timer that updates them."""

    status: gr.Markdown
    progress: gr.HTML
    table: gr.Dataframe
    selected: gr.State
    live: gr.Plot
    seen: gr.State  # ids of ended jobs this page has shown
    timer: gr.Timer


@dataclass
class RunsPanel:
    """Finished runs: the table, runs picked to overlay, their curves; the comparison (of a comparison job that ended,
    or of the picked runs): its verdict, table with intervals, paired differences, method plot; saved plots."""

    table: gr.Dataframe
    pick: gr.Dropdown
    refresh: gr.Button
    save: gr.Button
    overlay: gr.Plot
    verdict: gr.Markdown
    methods: gr.Dataframe
    pairs: gr.Dataframe
    by_method: gr.Plot
    saved: gr.File
    listed: gr.State | None = None  # the page's run names, set when a job ends: every run picker follows it


def build(ctx: UIContext) -> None:
    """The Experiments tab inside the app's Blocks: laid out, wired, then the label-efficiency section."""
    gr.Markdown("### Experiments")
    gr.Markdown(FE_NOTE)
    form = form_layout(ctx.store)
    jobs = jobs_layout(ctx.jobs)
    runs = runs_layout(ctx.ws, ctx.runs_listed)
    wire(ctx, form, jobs, runs)
    ctx.follow_datasets(form.inputs["dataset"])  # a set imported in the Datasets tab is offered at once
    build_report_panel(ctx, runs.pick)
    build_label_efficiency(ctx)


# -- layout ----------------------------------------------------------------------------------
def setting_input(s: Setting, widget: type | None = None, **look: Any) -> gr.components.Component:
    """The input of one RunConfig setting: its label, help (as info), default and choices (offered ones with
    custom values allowed) from the setting; `widget` and `look` (scale, elem_id, ...) from the tab."""
    look = {"label": s.label, "info": s.help, **look}
    if s.type is bool:
        return gr.Checkbox(s.default, **look)
    if widget is not None:
        return widget(choices=list(s.choices), value=s.default, **look) if s.choices else widget(value=s.default, **look)
    if s.choices or s.suggest:
        return gr.Dropdown(list(s.choices or s.suggest), value=s.default, allow_custom_value=not s.choices, **look)
    if s.type in (int, float):
        return gr.Number(s.default, precision=0 if s.type is int else None, minimum=s.minimum, **look)
    return gr.Textbox(s.default, **look)


def form_layout(store: Store) -> RunForm:
    """The run form (FORM_ROWS) and the start / compare / cancel buttons."""
    inputs = {}
    for row in FORM_ROWS:
        with gr.Row():
            for name in row:
                look = dict(LOOK.get(name, {}))
                if name == "dataset":  # the datasets there are now; the setting itself has no choices
                    inputs[name] = gr.Dropdown(choices=store.datasets(), label=SETTINGS[name].label, **look)
                    continue
                if name in AUGMENTATIONS:  # fine-tuning's: settable whatever the method (Compare methods uses them)
                    look["info"] = augmentation_info(SETTINGS[name], SETTINGS["method"].default)
                inputs[name] = setting_input(SETTINGS[name], **look)
    caveat = gr.Markdown(form_caveat(SETTINGS["method"].default, SETTINGS["weights"].default), elem_id="wb-exp-caveat")
    map_note = gr.Markdown(elem_id="wb-exp-map-note")
    with gr.Row():
        start = gr.Button("Start run", variant="primary", elem_id="wb-exp-start")
        seeds = gr.Number(3, label="Seeds", precision=0, minimum=1, scale=0, min_width=90, elem_id="wb-exp-seeds")
        resample = gr.Checkbox(False, label="Resample splits (a new split per seed)", scale=0, min_width=160,
                               elem_id="wb-exp-resample")
        compare = gr.Button("Compare methods (both × seeds)", elem_id="wb-exp-compare")
        cancel = gr.Button("Cancel job", variant="stop", elem_id="wb-exp-cancel")
    return RunForm(inputs, caveat, map_note, start, seeds, resample, compare, cancel)


def jobs_layout(jobs: JobManager) -> JobsPanel:
    """The status line, the picked job's progress bar, the jobs table and the live curves."""
    status = gr.Markdown(elem_id="wb-exp-status")
    progress = gr.HTML(_bar(None), elem_id="wb-exp-progress")
    table = gr.Dataframe(jobs.table(), label="Jobs (newest first; select a row to pick the job to cancel)",
                         interactive=False, wrap=True, elem_id="wb-exp-jobs", column_widths=JOBS_COLUMN_WIDTHS)
    selected = gr.State(None)
    live = gr.Plot(label="Live curves of the running job", elem_id="wb-exp-live")
    return JobsPanel(status, progress, table, selected, live, gr.State(None), gr.Timer(2.0))


def runs_layout(ws: Workspace, listed: gr.State | None = None) -> RunsPanel:
    """The runs table, the runs to overlay with their curves, methods table and plot, and saved plots; when a job
    ends, `listed` (the page's list of runs, which its run pickers follow) is set."""
    gr.Markdown("#### Runs")
    table = gr.Dataframe(runs_table(ws), label="Runs (updated when a job ends)", interactive=False, wrap=True,
                         elem_id="wb-exp-runs", column_widths=RUNS_COLUMN_WIDTHS)
    with gr.Row():
        pick = gr.Dropdown(list_runs(ws), multiselect=True, label="Runs to overlay", scale=4)
        refresh = gr.Button("Refresh runs and datasets", scale=1)
        save = gr.Button("Save plots (HTML + PNG)", scale=1)
    overlay = gr.Plot(label="Curves (val solid, train dotted)")
    gr.Markdown("#### Comparison (shown when a comparison ends, or for the runs picked above)")
    verdict = gr.Markdown(NO_COMPARISON, elem_id="wb-exp-verdict")
    methods = gr.Dataframe(shown_table([]), label="Test metrics of the best checkpoints: mean [95% t-interval] over "
                           "seeds; val: the best epoch's", interactive=False, wrap=True, elem_id="wb-exp-methods",
                           column_widths=METHODS_COLUMN_WIDTHS)
    pairs = gr.Dataframe(shown_pairs([]), label="Paired differences in test accuracy (a − b per seed, on the same "
                         "test images): mean, 95% interval, p-values", interactive=False, wrap=True,
                         elem_id="wb-exp-pairs")
    by_method = gr.Plot(label="Val curves by method: mean over seeds, ±1 std band", elem_id="wb-exp-by-method")
    saved = gr.File(label="Saved plots", file_count="multiple")
    return RunsPanel(table, pick, refresh, save, overlay, verdict, methods, pairs, by_method, saved, listed)


# -- handlers: call the core, shape for display -----------------------------------------------
def form_config(form: dict[str, Any]) -> RunConfig:
    """The run the form describes (values by setting name); a bad value is an error message."""
    if not form.get("dataset"):
        raise gr.Error("Choose a dataset first.")
    return _core(config_from, form)


def do_start(jobs: JobManager, j: JobsPanel, **form: Any) -> dict:
    """Queue one training run of the form's settings (warned first when it would learn from random features)."""
    cfg = form_config(form)
    _warn(random_features_caveat(cfg.method, cfg.weights))
    _warn(stems.map_warning(cfg))
    return _queued(jobs, j, _core(jobs.submit_train, cfg))


def do_compare(jobs: JobManager, j: JobsPanel, seeds: float | None, resample: bool, **form: Any) -> dict:
    """Queue both methods × `seeds` seeds plus the baselines, on one split or (`resample`) one per seed; a run name
    is the prefix of the runs' names."""
    prefix = (form.get("name") or "").strip() or None
    cfg = form_config(form)
    _warn(random_features_caveat(cfg.method, cfg.weights, comparing=True))
    _warn(stems.map_warning(replace(cfg, method="feature_extract")))  # Compare methods runs feature extraction too
    return _queued(jobs, j, _core(jobs.submit_compare, cfg, int(seeds or 1), prefix=prefix, resample=bool(resample)))


def form_caveat(method: str, weights: str) -> str:
    """What the form's method and weights mean for a run, and for Compare methods (empty when nothing to say)."""
    alone = random_features_caveat(method, weights)
    if alone:
        return f"⚠️ {alone}"
    compared = random_features_caveat(method, weights, comparing=True)
    return f"⚠️ Compare methods: {compared}" if compared else ""


def augmentation_info(s: Setting, method: str) -> str:
    """An augmentation's help, and that feature extraction does not use it (Compare methods' fine-tuning does)."""
    if method == "finetune":
        return s.help
    return f"{s.help}; fine-tuning only (here: Compare methods' fine-tuning runs)"


def do_cancel(jobs: JobManager, j: JobsPanel, job_id: int | None) -> dict:
    """Cancel the picked job, else the running (or next queued) one."""
    target = job_id if job_id is not None else getattr(jobs.active(), "id", None)
    if target is None:
        return {j.status: "No job to cancel.", j.table: jobs.table()}
    job = jobs.cancel(target)
    return {j.status: f"Job {job.id}: {job.message}", j.table: jobs.table()}


def on_select(evt: gr.SelectData, df: pd.DataFrame) -> int:
    """The job of the selected row of the jobs table."""
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return int(df.iloc[row]["job"])


def tick(ws: Workspace, jobs: JobManager, j: JobsPanel, r: RunsPanel, job_id: int | None, seen: list[int] | None) -> dict:
    """Every 2 s: the picked (or active) job's bar and live curves, the jobs table, and what ended jobs changed."""
    job = jobs.active() if job_id is None else jobs.get(job_id)
    hist = {run: h for run in (job.runs if job else []) if (h := _history_or_none(ws, run)) is not None and len(h)}
    live = curves.curves_figure(hist, n_classes=[len(ws.run(run).classes) for run in hist]) if hist else gr.skip()
    return {j.progress: _bar(job), j.table: jobs.table(), j.live: live,
            **ended_jobs(ws, jobs, j, r, seen)}


def ended_jobs(ws: Workspace, jobs: JobManager, j: JobsPanel, r: RunsPanel, seen: list[int] | None) -> dict:
    """When jobs have ended since the last tick: fresh Runs table and run list; for a comparison, its verdict,
    tables and plot (as saved in its folder)."""
    ended = jobs.finished()
    new = [job for job in ended if job.id not in (seen or [])]
    listed = [r.listed] if r.listed is not None else []
    if not new:
        return {r.table: gr.skip(), r.pick: gr.skip(), **{c: gr.skip() for c in _comparison_outputs(r)}, j.seen: seen,
                **{state: gr.skip() for state in listed}}
    cmp = next((job for job in new if job.comparison and job.runs), None)
    names = list_runs(ws)
    known = set(names)
    runs = [ws.run(run) for run in cmp.runs if run in known] if cmp else []
    saved = ws.plot_folder(cmp.comparison) if cmp else None
    shown = comparison_view(r, runs, saved) if runs else {c: gr.skip() for c in _comparison_outputs(r)}
    return {r.table: runs_table(ws), r.pick: gr.Dropdown(choices=names), **shown, j.seen: [job.id for job in ended],
            **{state: names for state in listed}}


def comparison_view(r: RunsPanel, runs: list[Run], saved: Path | None = None) -> dict:
    """The comparison of `runs` (the one saved in `saved` when there is one): verdict, tables, method plot."""
    try:
        cmp = Comparison.load(saved) if saved and (saved / COMPARISON_FILE).is_file() else compare.comparison_of(runs)
    except WorkbenchError as e:
        return {r.verdict: str(e), r.methods: shown_table([]), r.pairs: shown_pairs([]), r.by_method: None}
    return {r.verdict: verdict_markdown(cmp), r.methods: cmp.shown_table(), r.pairs: cmp.shown_pairs(),
            r.by_method: compare.methods_figure_of(runs)}


def verdict_markdown(cmp: Comparison) -> str:
    """The design, the warnings, the verdicts and the notes of a comparison, as the tab shows them above its table."""
    lines = [f"**Design.** {cmp.design.describe()}"]
    lines += [f"⚠️ **{w}**" for w in cmp.warnings]
    lines += [f"**Verdict.** {cmp.verdict}"]
    if cmp.baseline_verdict:
        lines.append(f"**Against the baselines.** {cmp.baseline_verdict}")
    lines += [f"<small>{html.escape(n)}</small>" for n in cmp.notes]
    return "\n\n".join(lines)


def _comparison_outputs(r: RunsPanel) -> list:
    return [r.verdict, r.methods, r.pairs, r.by_method]


def do_refresh(ws: Workspace, f: RunForm, r: RunsPanel) -> dict:
    """The runs table and lists of runs and datasets as they are now."""
    return {r.table: runs_table(ws), r.pick: gr.Dropdown(choices=list_runs(ws)),
            f.inputs["dataset"]: gr.Dropdown(choices=ws.store.datasets())}


def do_overlay(ws: Workspace, r: RunsPanel, runs: list[str] | None) -> dict:
    """The picked runs' curves overlaid and their comparison (from their saved test evaluations and baselines)."""
    if not runs:
        return {r.overlay: None, r.verdict: NO_COMPARISON, r.methods: shown_table([]), r.pairs: shown_pairs([]),
                r.by_method: None}
    picked = [_core(ws.run, run) for run in runs]
    overlay = curves.curves_figure({run.name: run.history for run in picked},
                                   n_classes=[len(run.classes) for run in picked])
    return {r.overlay: overlay, **comparison_view(r, picked)}


def do_save(ws: Workspace, runs: list[str] | None) -> list[str]:
    """The picked runs' curves saved as HTML and PNG in plots_checkpoints/."""
    if not runs:
        raise gr.Error("Pick runs to plot first.")
    picked = [_core(ws.run, name) for name in runs]
    out = curves.save_curves({run.name: run.history for run in picked}, ws.plots,
                             n_classes=[len(r.classes) for r in picked])
    return [str(out["html"]), str(out["png"])]


def map_note(method: str, backbone: str, input_size: float | None, stem: str) -> str:
    """The last feature map these settings give (size and stem), with a warning for feature extraction under 3×3."""
    try:
        cfg = RunConfig(dataset="-", method=method, backbone=(backbone or "").strip(), input_size=int(input_size or 0),
                        stem=stem, name="form")
    except (TypeError, ValueError):
        return ""
    return stems.map_summary(cfg)


def method_changed(f: RunForm, method: str) -> dict:
    """Augmentations apply to fine-tuning only: their inputs say so (they stay settable: Compare methods runs
    fine-tuning whatever the method picked)."""
    return {f.inputs[name]: gr.update(info=augmentation_info(SETTINGS[name], method)) for name in AUGMENTATIONS}


def caveat_changed(method: str, weights: str) -> str:
    """The method or weights changed: what to know about them (feature extraction on random weights)."""
    return form_caveat(method, weights)


def _warn(caveat: str | None) -> None:
    if caveat:
        gr.Warning(caveat, duration=None)


def _queued(jobs: JobManager, j: JobsPanel, job: Job) -> dict:
    return {j.status: f"Queued job {job.id}: {job.title}", j.selected: job.id, j.table: jobs.table()}


def _core(fn, *args: Any, **kwargs: Any) -> Any:
    """fn's result; a WorkbenchError becomes the error message shown."""
    try:
        return fn(*args, **kwargs)
    except WorkbenchError as e:
        raise gr.Error(str(e)) from None


def _history_or_none(ws: Workspace, run: str):
    try:
        return ws.run(run).history
    except WorkbenchError:  # config not written yet: the run is still loading images
        return None


def job_bar(jobs: JobManager, job_id: int | None) -> str:
    """The bar of the job just queued (or the active one)."""
    return _bar(jobs.active() if job_id is None else jobs.get(job_id))


def _bar(job: Job | None) -> str:
    if job is None:
        return "<div>No job running.</div>"
    pct = round(100 * job.progress)
    return (f"<div><b>Job {job.id}</b> {html.escape(job.title)} — {html.escape(job.status)}: "
            f"{html.escape(job.message)}<br><progress value='{pct}' max='100' style='width:100%'></progress> {pct}%</div>")


# -- events ----------------------------------------------------------------------------------
def wire(ctx: UIContext, f: RunForm, j: JobsPanel, r: RunsPanel) -> None:
    """Connect the tab's events to its handlers, the job queue, store and components bound."""
    jobs, form = ctx.jobs, f.inputs  # the form's inputs by setting name, in the API's positional order
    augmentations = [form[name] for name in AUGMENTATIONS]
    form["method"].change(bind(method_changed, f), inputs_kwargs={"method": form["method"]}, outputs=augmentations,
                          api_name="method_changed")
    for changed in (form["method"].change, form["weights"].change):
        changed(caveat_changed, inputs_kwargs={"method": form["method"], "weights": form["weights"]},
                outputs=[f.caveat], show_progress="hidden", api_visibility="private")
    gr.on([form[name].change for name in MAP_INPUTS], map_note, inputs_kwargs={n: form[n] for n in MAP_INPUTS},
          outputs=f.map_note, trigger_mode="always_last", show_progress="hidden", api_visibility="private")
    queued = [j.status, j.selected, j.table]
    # the bar follows at once (it read "No job running." until the timer's next tick, 10-20 s late under load)
    bar = {"fn": bind(job_bar, jobs), "inputs": [j.selected], "outputs": [j.progress], "show_progress": "hidden",
           "api_visibility": "private"}
    f.start.click(bind(do_start, jobs, j), inputs_kwargs=form, outputs=queued, api_name="do_start").success(**bar)
    f.compare.click(bind(do_compare, jobs, j), inputs_kwargs={"seeds": f.seeds, "resample": f.resample, **form},
                    outputs=queued, api_name="do_compare").success(**bar)
    f.cancel.click(bind(do_cancel, jobs, j), inputs_kwargs={"job_id": j.selected}, outputs=[j.status, j.table],
                   api_name="do_cancel")
    j.table.select(on_select, j.table, j.selected, api_name="on_select")
    j.timer.tick(bind(tick, ctx.ws, jobs, j, r), inputs_kwargs={"job_id": j.selected, "seen": j.seen},
                 outputs=[j.progress, j.table, j.live, r.table, r.pick, *_comparison_outputs(r), j.seen,
                          *([r.listed] if r.listed is not None else [])],
                 show_progress="hidden", api_name="tick")
    r.refresh.click(bind(do_refresh, ctx.ws, f, r), outputs=[r.table, r.pick, form["dataset"]], api_name="do_refresh")
    r.pick.change(bind(do_overlay, ctx.ws, r), inputs_kwargs={"runs": r.pick},
                  outputs=[r.overlay, *_comparison_outputs(r)],
                  api_name="do_overlay")
    r.save.click(bind(do_save, ctx.ws), inputs_kwargs={"runs": r.pick}, outputs=r.saved, api_name="do_save")
