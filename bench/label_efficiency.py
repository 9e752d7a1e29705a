"""Model-assisted labelling, measured: a simulated annotator who knows the true classes labels a whole set.

It drives the labelling core as the keys do (workbench.labeling.simulate): types labels in random order until
suggestions start (5 per class), optionally labels some images uncertain-first (Enter on a right suggestion,
the class key otherwise), then verifies pages of one suggested class (a toggle per wrong image, Enter for the
page, then a key for each image left out). Every key, toggle and page accept is one action; one key per image
without suggestions is 1.0 action per image.

Prints per set and strategy: actions per image, labels agreeing with the truth, suggestion refresh time
(median and max, once embeddings are cached; embedding time reported apart) and the number of pages.

    python bench/label_efficiency.py [--sets faces digits mnist] [--uncertain 100] [--page 50] [--miss 0.0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=["faces", "digits", "mnist"], choices=["faces", "digits", "mnist"])
    ap.add_argument("--uncertain", type=int, default=100, help="labels taken uncertain-first before the pages")
    ap.add_argument("--page", type=int, default=50, help="images per verify page")
    ap.add_argument("--miss", type=float, default=0.0, help="chance the annotator overlooks a wrong image on a page")
    a = ap.parse_args()
    os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="wb-label-eff-"))
    import torch

    from workbench.data import demo
    from workbench.labeling.features import dataset_features
    from workbench.labeling.simulate import simulate
    from workbench.store import Store

    store = Store()
    print(f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}; page {a.page}, miss {a.miss}")
    print(f"{'set':7} {'strategy':26} {'images':>6} {'actions/img':>11} {'typed':>6} {'enter':>6} {'pages':>5} "
          f"{'toggles':>7} {'right':>7} {'refresh med/max s':>17}")
    for name in a.sets:
        getattr(demo, f"ensure_{name}")(store)
        truth = demo.faces_truth(store) if name == "faces" else store.resolved_labels(name)
        t0 = time.perf_counter()
        dataset_features(store, name)  # embeddings once per dataset, cached on disk
        print(f"{name}: embeddings of {len(truth)} images computed and cached in {time.perf_counter() - t0:.1f} s")
        for strategy, uncertain in (("verify-pages", 0), (f"uncertain-first {a.uncertain} + pages", a.uncertain)):
            r = simulate(store, name, truth.to_dict(), strategy, annotator=f"sim-{uncertain}", uncertain=uncertain,
                         page_size=a.page, miss=a.miss)
            ref = r.refresh_s or [float("nan")]
            print(f"{name:7} {strategy:26} {r.images:6d} {r.actions_per_image:11.3f} {r.typed:6d} {r.accepted:6d} "
                  f"{r.pages:5d} {r.toggles:7d} {r.agreement:7.2%} {statistics.median(ref):8.2f}/{max(ref):.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
