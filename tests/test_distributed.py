"""Training across processes: `torchrun --standalone --nproc-per-node 2 -m workbench train ...` on 2 CPU ranks (gloo),
on 400 real digits (40 a class): what is checked (shards, files, equal parameters) does not need the whole set."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

from workbench.data.splits import labelled

pytestmark = pytest.mark.slow

TORCHRUN = shutil.which("torchrun") or "torchrun"
COMMON = ["digits-sample", "--epochs", "2", "--input-size", "32", "--no-flip", "--rotation", "0", "--crop-scale", "1"]


def _run(args: list[str], home) -> subprocess.CompletedProcess:
    env = {**os.environ, "WORKBENCH_HOME": str(home), "OMP_NUM_THREADS": "1"}
    r = subprocess.run(args, cwd=home, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r


def _torchrun(home, *args: str) -> subprocess.CompletedProcess:
    return _run([TORCHRUN, "--standalone", "--nproc-per-node", "2", "-m", "workbench", "train", *COMMON, *args], home)


def _single(home, *args: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "workbench", "train", *COMMON, *args], home)


def _state(home, run: str) -> dict:
    return torch.load(home / "checkpoints" / run / "last.pt", weights_only=True)


def _files(home) -> set[str]:
    """Files under `home`, a TensorBoard event file's time, host and process left out of its name."""
    return {re.sub(r"events\.out\.tfevents\..*", "events.out.tfevents", str(p.relative_to(home)))
            for p in home.rglob("*") if p.is_file() and not p.name.startswith("workbench.sqlite")}


def _even_train_split(store, dataset: str) -> None:
    """DDP keeps shards equal (DistributedSampler drop_last): with an even train split no image sits out, so the two
    runs below see exactly the same batches."""
    df = labelled(store, dataset)
    train = df[df.split == "train"]
    if len(train) % 2:
        labels = store.latest_labels(dataset)
        store.remove_label(int(labels[labels.image_id == train.image_id.iloc[0]].label_id.iloc[0]))


def test_two_ranks_match_one_process_with_twice_the_batch(store, digits_sample, home):
    _even_train_split(store, digits_sample)
    before = _files(home)
    out = _torchrun(home, "--method", "feature_extract", "--optimizer", "sgd", "--lr", "0.0005", "--batch-size", "32", "--name", "ddp")
    assert out.stdout.count("ddp: completed") == 1  # rank 0 alone reports
    written = _files(home) - before
    _single(home, "--method", "feature_extract", "--optimizer", "sgd", "--lr", "0.0005", "--batch-size", "64", "--name", "single")
    # the same files as one process writes, no stray ones: rank 1 wrote nothing
    assert {f.replace("ddp", "X") for f in written} == {f.replace("single", "X") for f in _files(home) - before - written}
    assert len(list((home / "checkpoints/ddp").glob("events.out.tfevents.*"))) == 1  # TensorBoard: rank 0's only

    info = json.loads((home / "checkpoints/ddp/summary.json").read_text())["distributed"]
    assert info["world_size"] == 2 and info["backend"] == "gloo"
    assert info["epoch1_images_on_two_ranks"] == 0  # disjoint shards
    n_train = sum(1 for i in json.loads((home / "checkpoints/ddp/dataset.json").read_text())["images"]
                  if i["split"] == "train")
    assert info["epoch1_images_per_rank"] == [n_train // 2] * 2
    assert info["identical_parameters_on_all_ranks"]

    a, b = _state(home, "ddp"), _state(home, "single")
    head = [k for k in a if k.startswith("classifier")]
    # SGD: linear in the gradient, so only summation order differs (Adam would amplify that on tiny gradients)
    assert head and all(torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-4) for k in head), \
        max((a[k] - b[k]).abs().max().item() for k in head)
    assert any(not torch.equal(a[k], _state_init(home)[k]) for k in head)  # it did learn


def _state_init(home) -> dict:
    """The untrained head, to show the runs compared above actually moved."""
    from workbench.train.backbones import build_model

    torch.manual_seed(0)  # the runs' seed: the same random head they started from
    return build_model("efficientnet_lite0", 10, "offline").state_dict()


def test_fine_tuning_ranks_stay_identical(digits_sample, home):
    _torchrun(home, "--method", "finetune", "--backbone", "resnet18", "--weights", "none", "--batch-size", "64",
              "--epochs", "1", "--name", "ft")
    s = json.loads((home / "checkpoints/ft/summary.json").read_text())
    assert s["status"] == "completed" and s["distributed"]["identical_parameters_on_all_ranks"]
    assert s["distributed"]["epoch1_images_on_two_ranks"] == 0


def test_a_detector_trains_on_two_ranks_with_disjoint_shards(store, home):
    """torchrun trains a detector as it trains a classifier: one shard of the boxed images per rank, rank 0 writes."""
    from workbench.data.demo import ensure_scenes
    from workbench.data.scenes import SceneSpec

    ensure_scenes(store, spec=SceneSpec(n=24, size=(96, 72), per_image=(1, 2), scale=(16, 30)))
    out = _run([TORCHRUN, "--standalone", "--nproc-per-node", "2", "-m", "workbench", "train", "scenes", "--epochs", "1",
                "--image-size", "64", "--batch-size", "4", "--no-flip", "--rotation", "0", "--name", "ddp-boxes"], home)
    assert out.stdout.count("ddp-boxes: completed") == 1
    summary = json.loads((home / "checkpoints/ddp-boxes/summary.json").read_text())
    info = summary["distributed"]
    assert info["world_size"] == 2 and info["epoch1_images_on_two_ranks"] == 0
    n_train = sum(1 for i in json.loads((home / "checkpoints/ddp-boxes/dataset.json").read_text())["images"]
                  if i["split"] == "train")
    assert sum(info["epoch1_images_per_rank"]) == n_train - n_train % 2
    assert info["identical_parameters_on_all_ranks"]
    history = (home / "checkpoints/ddp-boxes/history.csv").read_text()
    assert history.splitlines()[0].startswith("epoch,split,loss,map_50,map")
