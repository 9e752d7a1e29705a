"""Predict throughput on real image files: `workbench predict`'s batched path against a plain eager loop that reads,
preprocesses and runs the model one image at a time, over the same files, in one run.

A short feature-extraction run is trained on the faces demo set (EfficientNet-Lite0, offline weights) in a temporary
Workbench home; the 200 LFW crops are written as PNG files, repeated to --n. Each comparison is a candidate and a
baseline measured back to back, with the largest difference of their probabilities as a check that both computed the
same thing. ONNX Runtime on the run's `workbench export-model` file is compared with PyTorch on the same batches.

    python bench/predict_bench.py [--n 300] [--input-size 96] [--batch 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch


@dataclass
class Setup:
    """What every comparison may use: the run, its loaded model and the image files."""

    run: str
    loaded: object
    files: list[Path]
    batch: int
    ws: object  # the run's Workspace


@dataclass
class Comparison:
    """`candidate` and `baseline` each predict every file and return (N, C) probabilities in file order."""

    name: str
    candidate: tuple[str, Callable[[Setup], np.ndarray]]
    baseline: tuple[str, Callable[[Setup], np.ndarray]]


def batched_predict(s: Setup) -> np.ndarray:
    from workbench.predict.predict import predict_paths

    table = predict_paths(s.ws.run(s.run), s.files, loaded=s.loaded, batch_size=s.batch).table
    return table[[c for c in table.columns if c.startswith("p_")]].to_numpy()


@torch.no_grad()
def eager_one_at_a_time(s: Setup) -> np.ndarray:
    from workbench.data.imageio import load_image

    model = s.loaded.model.eval()
    return np.stack([model(s.loaded.preprocess([load_image(f)])).softmax(1)[0].double().cpu().numpy()
                     for f in s.files])


def batches(s: Setup):
    """The files read and preprocessed as the run's eval transform does, s.batch at a time (same for both runtimes)."""
    from workbench.data.imageio import load_image

    for i in range(0, len(s.files), s.batch):
        yield s.loaded.preprocess([load_image(f) for f in s.files[i:i + s.batch]])


@functools.lru_cache(maxsize=None)
def onnx_runner(ws, run: str):
    """The run exported by `workbench export-model --format onnx` (once, in the warm-up call), on ONNX Runtime."""
    from workbench.deploy.export import export_model, load_onnx

    return load_onnx(export_model(ws.run(run), "onnx", Path(os.environ["WORKBENCH_HOME"]) / "onnx").model_file)


def onnx_runtime(s: Setup) -> np.ndarray:
    run = onnx_runner(s.ws, s.run)
    return np.concatenate([run(x.contiguous().numpy())[1] for x in batches(s)])


@torch.no_grad()
def pytorch_batched(s: Setup) -> np.ndarray:
    model = s.loaded.model.eval()
    return np.concatenate([model(x).softmax(1).cpu().numpy() for x in batches(s)])


def comparisons() -> list[Comparison]:
    return [Comparison("batched predict vs one at a time",
                       ("workbench predict (batched)", batched_predict), ("eager loop, 1 image", eager_one_at_a_time)),
            Comparison("exported ONNX model vs PyTorch, same batches",
                       ("ONNX Runtime (CPU provider)", onnx_runtime), ("PyTorch eager, channels-last", pytorch_batched))]


def prepare(home: Path, n: int, input_size: int, batch: int) -> Setup:
    """Train the faces run and write n PNG files (the 200 faces crops, repeated) under home."""
    from PIL import Image
    from skimage.data import lfw_subset

    from workbench.data.demo import ensure_faces, faces_truth
    from workbench.evaluate.threshold import run_threshold
    from workbench.store import Store
    from workbench.workspace import Workspace
    from workbench.train.config import RunConfig
    from workbench.train.loop import train
    from workbench.train.runs import load_run

    os.environ["WORKBENCH_HOME"] = str(home)
    store = Store()
    ws = Workspace.around(store)
    ensure_faces(store)
    store.add_labels("faces", list(faces_truth(store).items()), "truth")
    res = train(ws, RunConfig(dataset="faces", method="feature_extract", input_size=input_size, epochs=1, name="bench"))
    assert res.status == "completed", res.message
    run_threshold(ws.run("bench"))  # chosen once here, as after a first evaluation: not part of the timing
    crops = (lfw_subset() * 255).astype(np.uint8)
    folder = home / "photos"
    folder.mkdir()
    files = []
    for i in range(n):
        files.append(folder / f"{i:05d}.png")
        Image.fromarray(crops[i % len(crops)]).save(files[-1])
    return Setup("bench", load_run(ws.run("bench")), files, batch, ws)


def timed(fn: Callable[[Setup], np.ndarray], s: Setup) -> tuple[float, np.ndarray]:
    fn(Setup(s.run, s.loaded, s.files[:8], s.batch))  # warm-up: first-call allocations, lazy imports
    t0 = time.perf_counter()
    out = fn(s)
    return len(s.files) / (time.perf_counter() - t0), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--input-size", type=int, default=96)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        s = prepare(Path(tmp), args.n, args.input_size, args.batch)
        print(f"{args.n} faces PNGs (25x25, upscaled to {args.input_size} px), EfficientNet-Lite0 run, "
              f"batch {args.batch}, {args.threads} threads, torch {torch.__version__}")
        for c in comparisons():
            (cand_name, cand), (base_name, base) = c.candidate, c.baseline
            cand_rate, cand_out = timed(cand, s)
            base_rate, base_out = timed(base, s)
            print(f"\n{c.name}")
            print(f"  {cand_name:32s} {cand_rate:8.1f} images/s")
            print(f"  {base_name:32s} {base_rate:8.1f} images/s")
            print(f"  ratio {cand_rate / base_rate:.2f}x; largest probability difference "
                  f"{np.abs(cand_out - base_out).max():.1e}")
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows all figures)")


if __name__ == "__main__":
    main()
