"""The tiny-crop recipe against an RBF SVM on the raw pixels, on the same test images (issue 19).

Trains one Workbench run with the recipe the README gives for tiny crops (by default: EfficientNet-Lite0 with its
offline ImageNet weights, the small stem the 28 px input gets from `--stem auto`, fine-tuned at the crops' native
28 px without flips) on a demo set in a fresh Workbench home, evaluates its best checkpoint on its test split, then
fits scikit-learn's SVC (RBF kernel; C and gamma by 3-fold cross-validation on the run's train split, the grid's edge
reported) on the raw pixels of the same train images and scores it on the same test images.

    python bench/tiny_crops.py [--dataset mnist|digits|faces] [--epochs 6] [--lr 2e-3] [--threads 2] [...]

Prints test accuracy (with its Wilson interval) of both, McNemar's test on the shared test images, and the training
time of the run as wall time and CPU time (process CPU, all threads): the goal is the recipe beating the SVM with
training within 10 minutes on 2 CPU cores. On a shared, loaded machine wall time overstates that; CPU time / threads
is the wall time an unloaded machine would take. --json FILE writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

from workbench.data.demo import ensure_demo, faces_truth  # noqa: E402
from workbench.data.imageio import load_image  # noqa: E402
from workbench.evaluate.evaluate import evaluate_run  # noqa: E402
from workbench.evaluate.intervals import mcnemar, wilson  # noqa: E402
from workbench.store import Store  # noqa: E402
from workbench.train.config import Augment, RunConfig  # noqa: E402
from workbench.train.loop import train  # noqa: E402
from workbench.workspace import Workspace  # noqa: E402

SVM_GRID = {"C": [1.0, 3.0, 10.0, 30.0], "gamma": [0.003, 0.01, 0.03, 0.1]}  # gamma on pixels scaled to 0..1
WIDENINGS = 2  # a parameter chosen at its grid's edge widens the grid (by 10x on that side) up to twice


def recipe(a: argparse.Namespace, dataset: str) -> RunConfig:
    return RunConfig(dataset=dataset, method=a.method, backbone=a.backbone, weights=a.weights, stem=a.stem,
                     input_size=a.input_size, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed,
                     augment=Augment(flip=a.flip, rotation=a.rotation, crop_scale=a.crop_scale), name="recipe")


def pixels(paths) -> np.ndarray:
    return np.stack([np.asarray(load_image(p).convert("L"), dtype=np.float32).ravel() / 255.0 for p in paths])


def svm(train_paths, y_train, test_paths) -> tuple[np.ndarray, dict, dict, float]:
    """Predictions of the CV-tuned RBF SVM on the test images, the chosen parameters, the grid searched last, and
    its CPU seconds. A parameter chosen at the edge of its grid widens that side and the search is redone."""
    cpu = time.process_time()
    x = pixels(train_paths)
    grid = {k: list(v) for k, v in SVM_GRID.items()}
    for _ in range(WIDENINGS + 1):
        search = GridSearchCV(SVC(kernel="rbf"), grid, cv=3, n_jobs=1).fit(x, y_train)
        edges = {k: v for k, v in search.best_params_.items() if v in (grid[k][0], grid[k][-1]) and len(grid[k]) > 1}
        if not edges:
            break
        for k, v in edges.items():
            grid[k] = ([v / 10] + grid[k]) if v == grid[k][0] else (grid[k] + [v * 10])
    pred = search.predict(pixels(test_paths))
    return pred, search.best_params_, grid, time.process_time() - cpu


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="mnist", choices=["mnist", "digits", "faces"])
    p.add_argument("--method", default="finetune")
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--weights", default="offline")
    p.add_argument("--stem", default="auto")
    p.add_argument("--input-size", type=int, default=28)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--rotation", type=float, default=10.0)
    p.add_argument("--crop-scale", type=float, default=0.85)
    p.add_argument("--threads", type=int, default=2, help="torch threads (the goal is about 2 CPU cores)")
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    home = Path(tempfile.mkdtemp(prefix="tiny_crops_"))
    os.environ["WORKBENCH_HOME"] = str(home)
    os.chdir(home)
    store = Store()
    ws = Workspace.around(store, home)
    dataset = ensure_demo(store, a.dataset)
    if a.dataset == "faces":
        store.add_labels(dataset, list(faces_truth(store).items()), "truth")

    cfg = recipe(a, dataset)
    wall, cpu = time.perf_counter(), time.process_time()
    result = train(ws, cfg, plots=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if result.status != "completed":
        print(f"the run did not complete: {result.message}", file=sys.stderr)
        return 1
    run = ws.run("recipe")
    ev = evaluate_run(run)
    test = run.predictions()
    split = {d["image_id"]: d["split"] for d in run.dataset_info["images"]}
    images = store.images(dataset).set_index("image_id")
    train_ids = [i for i, s in split.items() if s == "train"]
    y_of = dict(zip(test.image_id, test.y_true))
    labels = {int(i): c for i, c in store.resolved_labels(dataset).items()}
    classes = run.classes
    y_train = np.array([classes.index(labels[i]) for i in train_ids])
    svm_pred, params, grid, svm_cpu = svm(images.loc[train_ids, "path"].map(str).tolist(), y_train,
                                    test.path.tolist())
    y_test = test.y_true.to_numpy()
    right_net, right_svm = test.y_pred.to_numpy() == y_test, svm_pred == y_test
    edge = [k for k, v in params.items() if v in (grid[k][0], grid[k][-1])]
    stem = run.config.stem
    figures = {
        "dataset": dataset, "train_images": len(train_ids), "test_images": len(test), "threads": a.threads,
        "recipe": {**{k: v for k, v in cfg.to_dict().items() if k in ("backbone", "weights", "method", "input_size",
                                                                       "epochs", "batch_size", "lr", "augment")},
                   "stem": stem},
        "recipe_accuracy": float(right_net.mean()), "recipe_interval": wilson(int(right_net.sum()), len(test)).to_dict(),
        "svm_accuracy": float(right_svm.mean()), "svm_interval": wilson(int(right_svm.sum()), len(test)).to_dict(),
        "svm_params": params, "svm_grid": grid, "svm_params_at_grid_edge": edge, "svm_cpu_s": svm_cpu,
        "train_wall_s": wall, "train_cpu_s": cpu, "load_average": os.getloadavg(),
        "mcnemar": mcnemar(right_net, right_svm).describe(),
    }
    assert len(y_of) == len(test)
    print(f"{dataset}: {len(train_ids)} train, {len(test)} test images (the run's split); {a.threads} torch threads")
    print(f"recipe  {cfg.backbone} {cfg.weights} {cfg.method}, {stem} stem, {cfg.input_size} px, {cfg.epochs} epochs, "
          f"lr {cfg.lr:g}, flip {a.flip}, rotation {a.rotation:g}, crop {a.crop_scale:g}: test accuracy "
          f"{figures['recipe_accuracy']:.4f} ({wilson(int(right_net.sum()), len(test)).describe('.4f')})")
    print(f"RBF SVM on raw pixels, C={params['C']:g} gamma={params['gamma']:g} by 3-fold CV on the train split "
          f"(grid C {grid['C']}, gamma {grid['gamma']}{'; still at its edge: ' + ', '.join(edge) if edge else ''}): test accuracy "
          f"{figures['svm_accuracy']:.4f} ({wilson(int(right_svm.sum()), len(test)).describe('.4f')})")
    print(figures["mcnemar"].replace("only A", "only the recipe").replace("only B", "only the SVM"))
    print(f"training time: {wall:.0f} s wall, {cpu:.0f} s CPU (all threads; {cpu / a.threads:.0f} s per thread), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; evaluation accuracy {ev.metrics['accuracy']:.4f}")
    if a.json:
        a.json.write_text(json.dumps(figures, indent=2, default=float))
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
