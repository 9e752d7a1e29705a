"""Training speed: Workbench's loop vs a plain hand-written PyTorch loop, measured in the same run.

4,000 generated 24×24 grayscale images (two classes), resnet18 at 24×24 (random init: only time is
measured), batch 64, torch on 2 threads. Both sides train on the same train split and score the same
val split once per epoch.

  fine-tuning, 1 epoch:        Workbench train()  vs  PIL + torchvision per-image transforms + DataLoader
                               (goal <= 0.8x)
  feature extraction, 20 ep.:  Workbench (embeddings cached once)  vs  the plain loop running the frozen
                               backbone every epoch (goal <= 0.1x)

Run: python bench/train_bench.py [--images 4000] [--fe-epochs 20] [--workers 0] [--repeat 1] [--plain-small-map-convs]
(--fe-epochs 0 skips the feature-extraction part)
Wall times include everything each side does: decoding files, transforms, metrics, and for Workbench
also per-epoch metrics and checkpoint writes. Where Workbench's time goes down: decoded images held as
one uint8 tensor with batched augmentation (no per-image PIL work), a faster weight gradient for convs
on tiny maps (workbench/train/small_map_conv.py), channels-last layout, and checkpoints written in the
background (workbench/train/checkpoints.py). --plain-small-map-convs gives the plain loop the conv fix
too, to show what the rest is worth.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch


def make_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two classes of 24×24 gray crops: a bright blob (open) vs a horizontal bar (closed), with noise."""
    yy, xx = np.mgrid[:24, :24]
    x = np.empty((n, 24, 24), dtype=np.uint8)
    y = rng.integers(0, 2, n)
    for i in range(n):
        cx, cy = rng.normal(12, 2, 2)
        if y[i] == 0:
            img = 140 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * rng.uniform(3, 6) ** 2))
        else:
            img = 140 * np.exp(-((yy - cy) ** 2) / (2 * rng.uniform(1, 2.5) ** 2)) * (np.abs(xx - cx) < 9)
        img = img + rng.uniform(30, 90) + rng.normal(0, 12, (24, 24))
        x[i] = np.clip(img, 0, 255).astype(np.uint8)
    return x, y


def plain_loop(df_train, df_val, epochs: int, frozen: bool, workers: int, small_map_convs: bool = False) -> float:
    """The loop most tutorials write: ImageFolder-style dataset of PIL images, per-image transforms, DataLoader."""
    import timm
    import torch.nn.functional as F
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms as T

    from workbench.train.data import IMAGENET_MEAN, IMAGENET_STD

    norm = [T.Grayscale(3), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    aug = [T.RandomResizedCrop(24, scale=(0.8, 1.0)), T.RandomHorizontalFlip(), T.RandomRotation(10)]
    train_tf = T.Compose(norm if frozen else aug + norm)
    val_tf = T.Compose([T.Resize((24, 24))] + norm)

    class Files(Dataset):
        def __init__(self, df, tf):
            self.paths, self.y, self.tf = df.path.tolist(), df.y.tolist(), tf

        def __len__(self):
            return len(self.paths)

        def __getitem__(self, i):
            return self.tf(Image.open(self.paths[i]).convert("L")), self.y[i]

    torch.manual_seed(0)
    model = timm.create_model("resnet18", pretrained=False, num_classes=2)
    if small_map_convs:  # to show how much of the gap is that fix and how much is the data pipeline
        from workbench.train.small_map_conv import use_small_map_convs
        use_small_map_convs(model)
    if frozen:
        model.requires_grad_(False)
        model.get_classifier().requires_grad_(True)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    train_dl = DataLoader(Files(df_train, train_tf), batch_size=64, shuffle=True, num_workers=workers)
    val_dl = DataLoader(Files(df_val, val_tf), batch_size=256, num_workers=workers)
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train(not frozen)
        for x, y in train_dl:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            probs = torch.cat([model(x).softmax(1) for x, _ in val_dl])
        _ = (probs.argmax(1).numpy() == df_val.y.to_numpy()).mean()
    return time.perf_counter() - t0


def workbench_run(ws, method: str, epochs: int, name: str) -> float:
    from workbench.train.config import RunConfig
    from workbench.train.loop import train

    cfg = RunConfig("bench", method=method, backbone="resnet18", weights="none", input_size=24, epochs=epochs,
                    batch_size=64, lr=1e-3, schedule="none", name=name)
    t0 = time.perf_counter()
    res = train(ws, cfg, plots=False)  # the curves are drawn after training: not the loop's speed
    took = time.perf_counter() - t0
    assert res.status == "completed", res.message
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=4000)
    ap.add_argument("--fe-epochs", type=int, default=20)
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers of the plain loop")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="fine-tuning pairs to time (median ratio printed)")
    ap.add_argument("--plain-small-map-convs", action="store_true",
                    help="give the plain loop Workbench's small-map conv gradient too (isolates the data pipeline)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    home = tempfile.mkdtemp(prefix="wb-train-bench-")
    os.environ["WORKBENCH_HOME"] = home

    from workbench.data.importers import import_arrays
    from workbench.data.splits import labelled
    from workbench.store import Store
    from workbench.workspace import Workspace

    store = Store()
    ws = Workspace.around(store)
    x, y = make_images(a.images, np.random.default_rng(0))
    import_arrays(store, x, y, class_names=["open", "closed"], name="bench")
    df = labelled(store, "bench")
    tr, va = df[df.split == "train"], df[df.split == "val"]
    print(f"{len(df)} images 24×24 gray: {len(tr)} train, {len(va)} val; resnet18 @24px, batch 64, "
          f"{a.threads} threads, plain loop DataLoader workers={a.workers}")

    # alternate the two sides so a change in machine load hits both; report the median ratio
    ratios = []
    for r in range(a.repeat):
        plain_ft = plain_loop(tr, va, 1, frozen=False, workers=a.workers, small_map_convs=a.plain_small_map_convs)
        ours_ft = workbench_run(ws, "finetune", 1, f"bench-ft-{r}")
        ratios.append(ours_ft / plain_ft)
        print(f"fine-tune 1 epoch:      plain {plain_ft:7.2f} s   workbench {ours_ft:7.2f} s   "
              f"ratio {ratios[-1]:.2f}x (goal <= 0.8x)", flush=True)
    if a.repeat > 1:
        print(f"fine-tune median ratio over {a.repeat} pairs: {float(np.median(ratios)):.2f}x", flush=True)
    if a.fe_epochs <= 0:
        return

    plain_fe = plain_loop(tr, va, a.fe_epochs, frozen=True, workers=a.workers)
    ours_fe = workbench_run(ws, "feature_extract", a.fe_epochs, "bench-fe")
    print(f"feature extraction {a.fe_epochs} ep: plain {plain_fe:7.2f} s   workbench {ours_fe:7.2f} s   "
          f"ratio {ours_fe / plain_fe:.3f}x (goal <= 0.1x)")


if __name__ == "__main__":
    main()
