"""Experiments tab: start and cancel training runs in the background, watch live curves,
overlay finished runs, and compare fine-tuning with feature extraction (and linear baselines) over seeds.
When a job ends the Runs table refreshes itself, and a comparison's table and method plot appear."""

from __future__ import annotations

import html

import gradio as gr

from workbench.errors import WorkbenchError
from workbench.plots import curves_figure, save_curves
from workbench.train.compare import methods_figure_of, methods_table
from workbench.train.config import METHODS, OPTIMIZERS, SCHEDULES, Augment, RunConfig, parse_grouping
from workbench.train.jobs import JobManager
from workbench.train.runs import list_runs, load_history, runs_table
from workbench.ui.context import UIContext
from workbench.ui.label_efficiency_panel import build_label_efficiency

BACKBONES = ["efficientnet_lite0", "resnet18", "resnet50", "mobilenetv3_large_100", "mobilenetv2_100",
             "efficientnet_b0", "convnext_atto"]
WEIGHTS = ["offline", "timm", "none"]
FE_NOTE = ("**Feature extraction** embeds every image once with the frozen backbone and trains only the head on the "
           "cached embeddings at 10× the learning rate set here, so **augmentations are off** in that mode. **Fine-tuning** trains the whole network "
           "on augmented batches. Offline weights: ImageNet EfficientNet-Lite0 (bundled); `timm` downloads "
           "(needs network); or give a path to a .pth/.safetensors file. **Compare methods** trains both methods "
           "per seed and adds two baselines on each seed's split: logistic regression on the raw pixels and a linear "
           "probe (C tuned by cross-validation on train) on the frozen backbone's embeddings.")

# run, dataset, method, backbone, seed, status, epochs, best epoch, best val loss, val accuracy: fits the page,
# short headers kept whole (narrow auto widths broke "seed" into "se/ed")
RUNS_COLUMN_WIDTHS = ["20%", "8%", "12%", "14%", "5%", "9%", "7%", "7%", "9%", "9%"]


def build(ctx: UIContext) -> None:
    jobs: JobManager = ctx.jobs
    store = ctx.store

    gr.Markdown("### Experiments")
    gr.Markdown(FE_NOTE)
    with gr.Row():
        dataset = gr.Dropdown(choices=store.datasets(), label="Dataset", scale=2, elem_id="wb-exp-dataset")
        method = gr.Radio(list(METHODS), value="feature_extract", label="Method", scale=2)
        backbone = gr.Dropdown(BACKBONES, value="efficientnet_lite0", allow_custom_value=True,
                               label="Backbone (any timm name)", scale=2)
        weights = gr.Dropdown(WEIGHTS, value="offline", allow_custom_value=True,
                              label="Weights (or a file path)", scale=2)
    with gr.Row():
        grouping = gr.Textbox(label="Class grouping (optional)", placeholder="cigs=tobacco, pipes=tobacco, other=other",
                              scale=3)
        input_size = gr.Number(64, label="Input size (px)", precision=0, minimum=8, scale=1, elem_id="wb-exp-size")
        epochs = gr.Number(10, label="Epochs", precision=0, minimum=1, scale=1, elem_id="wb-exp-epochs")
        batch_size = gr.Number(64, label="Batch size", precision=0, minimum=1, scale=1)
        seed = gr.Number(0, label="Seed (also the split)", precision=0, scale=1)
    with gr.Row():
        optimizer = gr.Dropdown(list(OPTIMIZERS), value="adamw", label="Optimizer", scale=1)
        lr = gr.Number(1e-3, label="Learning rate", scale=1)
        schedule = gr.Dropdown(list(SCHEDULES), value="cosine", label="LR schedule", scale=1)
        name = gr.Textbox(label="Run name (optional; a comparison's runs: <name>-ft-s0, ...)", scale=2)
    with gr.Row():
        flip = gr.Checkbox(True, label="Random flip", interactive=False)
        rotation = gr.Slider(0, 45, value=10, step=1, label="Max rotation (°)", interactive=False)
        crop = gr.Slider(0.3, 1.0, value=0.8, step=0.05, label="Random resized crop: min area", interactive=False)
        normalize = gr.Checkbox(True, label="ImageNet normalisation")
    with gr.Row():
        start = gr.Button("Start run", variant="primary", elem_id="wb-exp-start")
        seeds = gr.Number(3, label="Seeds", precision=0, minimum=1, scale=0, min_width=90, elem_id="wb-exp-seeds")
        compare = gr.Button("Compare methods (both × seeds)", elem_id="wb-exp-compare")
        cancel = gr.Button("Cancel job", variant="stop", elem_id="wb-exp-cancel")
    status = gr.Markdown(elem_id="wb-exp-status")
    progress = gr.HTML(_bar(None), elem_id="wb-exp-progress")
    jobs_df = gr.Dataframe(jobs.table(), label="Jobs (newest first; select a row to pick the job to cancel)",
                           interactive=False, elem_id="wb-exp-jobs")
    selected_job = gr.State(None)
    live = gr.Plot(label="Live curves of the running job", elem_id="wb-exp-live")

    gr.Markdown("#### Runs")
    runs_df = gr.Dataframe(runs_table(), label="Runs (updated when a job ends)", interactive=False, wrap=True,
                           elem_id="wb-exp-runs", column_widths=RUNS_COLUMN_WIDTHS)
    with gr.Row():
        pick = gr.Dropdown(list_runs(), multiselect=True, label="Runs to overlay", scale=4)
        refresh = gr.Button("Refresh runs and datasets", scale=1)
        save = gr.Button("Save plots (HTML + PNG)", scale=1)
    overlay = gr.Plot(label="Curves (val solid, train dotted)")
    table = gr.Dataframe(methods_table([]), label="Final val metrics per method, mean ± std over seeds "
                         "(shown when a comparison ends, or for the runs picked above)", interactive=False,
                         elem_id="wb-exp-methods")
    by_method = gr.Plot(label="Val curves by method: mean over seeds, ±1 std band", elem_id="wb-exp-by-method")
    seen_jobs = gr.State(None)  # ids of ended jobs this page has shown
    saved = gr.File(label="Saved plots", file_count="multiple")

    timer = gr.Timer(2.0)

    # -- handlers: call the core, shape for display ---------------------------------------------------
    def form_config(ds, m, bb, w, grp, size, ep, bs, sd, opt, rate, sch, nm, fl, rot, cr, norm):
        if not ds:
            raise gr.Error("Choose a dataset first.")
        try:
            return RunConfig(dataset=ds, method=m, backbone=(bb or "").strip(), weights=(w or "").strip(),
                             grouping=parse_grouping(grp), input_size=int(size), epochs=int(ep), batch_size=int(bs),
                             seed=int(sd), optimizer=opt, lr=float(rate), schedule=sch, name=(nm or "").strip(),
                             augment=Augment(flip=fl, rotation=float(rot), crop_scale=float(cr), normalize=norm))
        except WorkbenchError as e:
            raise gr.Error(str(e)) from None

    form = [dataset, method, backbone, weights, grouping, input_size, epochs, batch_size, seed, optimizer, lr,
            schedule, name, flip, rotation, crop, normalize]

    def do_start(*values):
        try:
            job = jobs.submit_train(form_config(*values))
        except WorkbenchError as e:
            raise gr.Error(str(e)) from None
        return f"Queued job {job.id}: {job.title}", job.id, jobs.table()

    def do_compare(n, *values):
        try:
            job = jobs.submit_compare(form_config(*values), int(n or 1), prefix=(values[12] or "").strip() or None)
        except WorkbenchError as e:
            raise gr.Error(str(e)) from None
        return f"Queued job {job.id}: {job.title}", job.id, jobs.table()

    def do_cancel(job_id):
        target = job_id if job_id is not None else getattr(jobs.active(), "id", None)
        if target is None:
            return "No job to cancel.", jobs.table()
        job = jobs.cancel(target)
        return f"Job {job.id}: {job.message}", jobs.table()

    def on_select(evt: gr.SelectData, df):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return int(df.iloc[row]["job"])

    def tick(job_id, seen):
        job = jobs.active() if job_id is None else jobs.get(job_id)
        live_fig = gr.skip()
        if job is not None and job.runs:
            hist = {r: _history_or_none(r) for r in job.runs}
            hist = {r: h for r, h in hist.items() if h is not None and len(h)}
            live_fig = curves_figure(hist) if hist else gr.skip()
        return _bar(job), jobs.table(), live_fig, *ended_jobs(seen)

    def ended_jobs(seen):
        """When jobs have ended since the last tick: fresh Runs table and run list; for a comparison, its table and plot."""
        ended = jobs.finished()
        new = [j for j in ended if j.id not in (seen or [])]
        if not new:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), seen
        cmp = next((j for j in new if j.comparison and j.runs), None)
        known = set(list_runs())
        runs = [r for r in cmp.runs if r in known] if cmp else []
        shown = (methods_table(runs), methods_figure_of(runs)) if runs else (gr.skip(), gr.skip())
        return runs_table(), gr.Dropdown(choices=list_runs()), *shown, [j.id for j in ended]

    def do_refresh():
        return runs_table(), gr.Dropdown(choices=list_runs()), gr.Dropdown(choices=store.datasets())

    def do_overlay(runs):
        if not runs:
            return None, methods_table([]), None
        hist = {r: load_history(r) for r in runs}
        return curves_figure(hist), methods_table(runs), methods_figure_of(runs)

    def do_save(runs):
        if not runs:
            raise gr.Error("Pick runs to plot first.")
        out = save_curves({r: load_history(r) for r in runs})
        return [str(out["html"]), str(out["png"])]

    def method_changed(m):
        on = m == "finetune"
        return [gr.update(interactive=on)] * 3

    method.change(method_changed, method, [flip, rotation, crop])
    start.click(do_start, form, [status, selected_job, jobs_df])
    compare.click(do_compare, [seeds, *form], [status, selected_job, jobs_df])
    cancel.click(do_cancel, selected_job, [status, jobs_df])
    jobs_df.select(on_select, jobs_df, selected_job)
    timer.tick(tick, [selected_job, seen_jobs], [progress, jobs_df, live, runs_df, pick, table, by_method, seen_jobs],
               show_progress="hidden")
    refresh.click(do_refresh, None, [runs_df, pick, dataset])
    pick.change(do_overlay, pick, [overlay, table, by_method])
    save.click(do_save, pick, saved)
    build_label_efficiency(ctx)


def _history_or_none(run: str):
    try:
        return load_history(run)
    except WorkbenchError:  # config not written yet: the run is still loading images
        return None


def _bar(job) -> str:
    if job is None:
        return "<div>No job running.</div>"
    pct = round(100 * job.progress)
    return (f"<div><b>Job {job.id}</b> {html.escape(job.title)} — {html.escape(job.status)}: "
            f"{html.escape(job.message)}<br><progress value='{pct}' max='100' style='width:100%'></progress> {pct}%</div>")
