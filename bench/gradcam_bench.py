"""Grad-CAM throughput: resnet18 on 24x24 crops, batched vs one image at a time.

The 24x24 crops are upscaled to the run's input size first (default 96 px), as a run's eval transform
does: at 24x24 itself resnet18's last stage is 1x1 and every CAM would be blank. Baselines measured in
the same run: the same call one image at a time, and a plain batched forward pass (no CAM), which shows
the CAM's own overhead independent of how loaded the machine is. Goal: >= 50 images/s batched on 2 cores.

    python bench/gradcam_bench.py [--n 256] [--input-size 96] [--batch 64] [--threads 2] [--method gradcam]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import timm
import torch
import torch.nn.functional as F

from workbench.explain.cam import compute_cams
from workbench.train.backbones import place


def crops(n: int, size: int = 24) -> torch.Tensor:
    """Eye-like 24x24 grayscale blobs as 3-channel tensors."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    out = np.empty((n, size, size), np.float32)
    for i in range(n):
        cx, cy, r = rng.uniform(8, 16), rng.uniform(8, 16), rng.uniform(3, 7)
        out[i] = 0.7 - 0.5 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) + rng.normal(0, 0.05, (size, size))
    return torch.from_numpy(out)[:, None].expand(-1, 3, -1, -1)


def rate(fn, n: int) -> float:
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--input-size", type=int, default=96)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--method", default="gradcam")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # laid out as the app's runs are (load_run places models channels-last)
    model = place(timm.create_model("resnet18", pretrained=False, num_classes=2), torch.device("cpu")).eval()
    x = F.interpolate(crops(args.n), size=args.input_size, mode="bilinear", align_corners=False)
    x = x.contiguous(memory_format=torch.channels_last)
    targets = [i % 2 for i in range(args.n)]
    compute_cams(model, x[:4], targets[:4], args.method)  # warm-up
    n_single = min(args.n, 64)
    single = rate(lambda: [compute_cams(model, x[i:i + 1], [targets[i]], args.method) for i in range(n_single)],
                  n_single)
    batched = rate(lambda: compute_cams(model, x, targets, args.method, batch_size=args.batch), args.n)
    with torch.no_grad():
        forward = rate(lambda: [model(x[i:i + args.batch]) for i in range(0, args.n, args.batch)], args.n)
    maps = compute_cams(model, x[:8], targets[:8], args.method)
    print(f"resnet18, {args.method}, 24x24 crops upscaled to {args.input_size}px, {args.threads} threads, "
          f"{torch.__version__}")
    print(f"one at a time : {single:8.1f} images/s  ({n_single} images)")
    print(f"batched ({args.batch:>3}) : {batched:8.1f} images/s  ({args.n} images)")
    print(f"ratio         : {batched / single:8.1f}x batched vs one at a time")
    print(f"forward only  : {forward:8.1f} images/s  (no CAM; CAM costs {forward / batched:.2f}x a forward pass)")
    print(f"load average  : {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows all figures)")
    print(f"goal >= 50 images/s batched: {'met' if batched >= 50 else 'NOT met'}; "
          f"maps {maps.shape[1]}x{maps.shape[2]}, min per-map std {maps.std(axis=(1, 2)).min():.3f} (0 = blank)")


if __name__ == "__main__":
    main()
