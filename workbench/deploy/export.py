"""`export_model`: a run's best checkpoint as ONNX or TorchScript, checked against PyTorch, with its model card.

Each format is an `Exporter` in `EXPORTERS`: how to write the file and how to run it,
so the parity check, the tests and `bench/` run every format the same way.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from workbench.atomic import atomic_path, write_bytes, write_json
from workbench.deploy.card import model_card
from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.run import Run
from workbench.train.runs import LoadedRun, load_run

# a detector's export needs torchvision's detectors: imported only when a detection run is exported
detection = lazy_import("workbench.detect.export")

# onnxruntime runs ONNX files only: imported when one is checked or run, not by a TorchScript export
ort = lazy_import("onnxruntime")

PARITY_TOLERANCE = 1e-4  # max |exported - PyTorch| on logits and probabilities
STANDALONE_SCRIPT = Path(__file__).with_name("predict_onnx.py")

Runner = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # float32 NCHW batch -> (logits, probabilities)


@dataclass(frozen=True)
class Exporter:
    file: str  # model file name in the export folder
    write: Callable[[nn.Module, torch.Tensor, Path], None]
    load: Callable[[Path], Runner]


class WithProbabilities(nn.Module):
    """The classifier with softmax probabilities as a second output, so a user needs no post-processing."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, softmax probabilities)."""
        logits = self.model(x)
        return logits, logits.softmax(dim=1)


@dataclass
class ExportResult:
    run: str
    format: str
    model_file: Path
    card_file: Path
    max_abs_diff: float  # exported vs PyTorch on a check batch
    files: list[Path] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"Exported run {self.run!r} as {self.format}: {self.model_file} (card: {self.card_file.name}); "
                f"max |{self.format} - PyTorch| = {self.max_abs_diff:.2e} on a check batch")


def export_run(run: Run, fmt: str, out: str | Path | None = None, which: str = "best"):
    """Export any run: a classifier as `fmt` (export_model), a detector as ONNX (detect.export.export_detector)."""
    if run.is_detector:
        if fmt != "onnx":
            raise WorkbenchError(f"{run.name!r} is a detection run: it exports as onnx only (--format onnx).")
        return detection.export_detector(run, out, which)
    return export_model(run, fmt, out, which)


def export_model(run: Run, fmt: str, out: str | Path | None = None, which: str = "best") -> ExportResult:
    """Write the run's model as `fmt` into `out` (default checkpoints/<run>/export-<fmt>/) with model_card.json."""
    if fmt not in EXPORTERS:
        raise WorkbenchError(f"Unknown export format {fmt!r}; choose one of: {', '.join(EXPORTERS)}.")
    folder = Path(out) if out else run.folder / f"export-{fmt}"
    if folder.exists() and not folder.is_dir():
        raise WorkbenchError(f"{folder} is a file; give a folder to export into.")
    loaded = load_run(run, which, device="cpu")
    model = eager_model(loaded)
    exporter = EXPORTERS[fmt]
    target = folder / exporter.file
    # checked before it replaces an earlier export: a failed parity check leaves the old file in place
    with atomic_path(target) as tmp:
        exporter.write(model, example_batch(loaded, 2), tmp)
        diff = parity(model, exporter.load(tmp), example_batch(loaded, 3, seed=1))
        if diff > PARITY_TOLERANCE:
            raise WorkbenchError(f"The {fmt} export of {run.name!r} differs from PyTorch by {diff:.2e} "
                                 f"(over {PARITY_TOLERANCE:g}); not written.")
    card = model_card(loaded, fmt, target.name, which)
    card["verification"] = {"batch": 3, "max_abs_diff": diff, "tolerance": PARITY_TOLERANCE}
    card_file = write_json(folder / "model_card.json", card, allow_nan=False)
    files = [target, card_file]
    if fmt == "onnx":
        files.append(write_bytes(folder / STANDALONE_SCRIPT.name, STANDALONE_SCRIPT.read_bytes()))
    return ExportResult(run.name, fmt, target, card_file, diff, files)


def eager_model(loaded: LoadedRun) -> nn.Module:
    """The run's model with a probabilities output, in plain NCHW layout on CPU (what a user's input is)."""
    return WithProbabilities(loaded.model.to("cpu", memory_format=torch.contiguous_format)).eval()


def example_batch(loaded: LoadedRun, n: int, seed: int = 0) -> torch.Tensor:
    """A normalised-looking random (n, 3, S, S) float batch for tracing and the parity check."""
    size = loaded.config.input_size
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def parity(model: nn.Module, runner: Runner, x: torch.Tensor) -> float:
    """Largest absolute difference between the exported runner and eager PyTorch, over both outputs."""
    ref = [t.numpy() for t in model(x)]
    got = runner(x.numpy())
    return float(max(np.abs(a - b).max() for a, b in zip(ref, got)))


# -- formats ---------------------------------------------------------------------------------
def load_onnx(path: Path) -> Runner:
    """An ONNX file as a Runner (onnxruntime on CPU)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()  # as many threads as PyTorch here, for a fair comparison
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return lambda x: tuple(session.run(["logits", "probabilities"], {"input": np.ascontiguousarray(x, np.float32)}))


def load_torchscript(path: Path) -> Runner:
    """A TorchScript file as a Runner (on CPU)."""
    with _quiet():
        module = torch.jit.load(str(path), map_location="cpu").eval()

    @torch.no_grad()
    def run(x: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(t.numpy() for t in module(torch.from_numpy(np.ascontiguousarray(x, np.float32))))
    return run


def write_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """torch.export-based exporter (the default since torch 2.9), batch axis dynamic, weights inside the file."""
    batch = torch.export.Dim("batch", min=1, max=65536)
    try:
        with _quiet():
            torch.onnx.export(model, (example,), str(path), dynamo=True, external_data=False,
                              input_names=["input"], output_names=["logits", "probabilities"],
                              dynamic_shapes=({0: batch},))
    except Exception as e:  # the exporter's own errors are long; keep the first line, say which model
        raise WorkbenchError(f"ONNX export failed: {type(e).__name__}: {str(e).splitlines()[0][:300]}") from e


def write_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """Traced (timm models are not all scriptable); load with torch.jit.load, no Workbench or timm needed."""
    with _quiet(), torch.no_grad():
        torch.jit.save(torch.jit.trace(model, example, check_trace=False), str(path))


EXPORTERS: dict[str, Exporter] = {
    "onnx": Exporter("model.onnx", write_onnx, load_onnx),
    "torchscript": Exporter("model.torchscript.pt", write_torchscript, load_torchscript),
}


@contextlib.contextmanager
def _quiet():
    """The exporters print progress lines, and torch.jit deprecation notices a user cannot act on."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield
