"""Scale: import 50,000 generated 24×24 crops, then embed and predict all of them with a trained run.

Each phase runs in its own process so its peak memory (the process and its DataLoader workers) is its own.
Baselines, measured in the same run: the in-memory paths (`train.predict.predict`, `review.embeddings.embed`:
files decoded in the main process, every row held in RAM; 50,000 Lite0 embeddings are 256 MB). Workbench's big-set
path: DataLoader workers decoding beside the model, rows written into memory-mapped .npy shards.

    python bench/scale_bench.py            # 50,000 images
    python bench/scale_bench.py 5000       # a quicker look
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from import_bench import make_pngs  # noqa: E402  (the same generated eye-like crops)

RUN = "scale"


def _peak_mib() -> float:
    """Peak resident memory of this process and of its finished children (workers), in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def phase_import(n: int) -> dict:
    from workbench.data.importers import import_folder
    from workbench.store import Store

    src = Path(os.environ["WORKBENCH_HOME"]) / "eyes"
    src.mkdir()
    make_pngs(src, n)
    store = Store()
    t = time.perf_counter()
    import_folder(store, src, name="eyes")
    took = time.perf_counter() - t
    # a small labelled subset (dark centre = "closed") for a quick run whose model the next phases use
    imgs = store.images("eyes").head(600)
    store.add_classes("eyes", ["closed", "open"])
    store.add_labels("eyes", [(int(r.image_id), "closed" if r.brightness < imgs.brightness.median() else "open")
                              for r in imgs.itertuples()], "bench")
    from workbench.train.config import RunConfig
    from workbench.train.loop import train
    from workbench.workspace import Workspace

    train(Workspace.around(store), RunConfig("eyes", method="feature_extract", input_size=32, epochs=2, name=RUN))
    return {"seconds": took}


def phase_infer(which: str) -> dict:
    from workbench.review.embeddings import embed
    from workbench.store import Store
    from workbench.train.predict import embed_to_shards, predict, predict_to_shards
    from workbench.train.runs import load_run
    from workbench.workspace import Workspace

    loaded = load_run(Workspace.open().run(RUN))
    files = Store().images("eyes").path.tolist()
    work = {"predict-memory": lambda: predict(loaded, files),
            "predict-shards": lambda: predict_to_shards(loaded, files, loaded.run_dir / "probs"),
            "embed-memory": lambda: embed(loaded, files),
            "embed-shards": lambda: embed_to_shards(loaded, files, loaded.run_dir / "embeddings")}[which]
    t = time.perf_counter()
    rows = len(work())
    return {"seconds": time.perf_counter() - t, "rows": rows}


def _child(phase: str, arg: str, home: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, arg], env={**os.environ, "WORKBENCH_HOME": home},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        imp = _child("import", str(n), home)
        print(f"images: {n} ({os.cpu_count()} cores)")
        print(f"import:                       {n / imp['seconds']:7.0f} images/s  peak {imp['peak_mib']:6.0f} MiB")
        for task in ("predict", "embed"):
            mem, shards = _child("infer", f"{task}-memory", home), _child("infer", f"{task}-shards", home)
            for label, r in ((f"{task}, in memory (baseline)", mem), (f"{task} -> .npy shards", shards)):
                print(f"{label:30s} {r['rows'] / r['seconds']:7.0f} images/s  peak {r['peak_mib']:6.0f} MiB")
            print(f"  ratio shards / in memory: time {shards['seconds'] / mem['seconds']:.2f}x, "
                  f"peak memory {shards['peak_mib'] / mem['peak_mib']:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--phase":
        result = phase_import(int(sys.argv[3])) if sys.argv[2] == "import" else phase_infer(sys.argv[3])
        print(json.dumps({**result, "peak_mib": _peak_mib()}))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
