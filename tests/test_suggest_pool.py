"""A team on one set: the pool computes the dataset's features once for all annotators and runs one retrain at a
time, so many annotators starting together do not multiply the background work."""

from __future__ import annotations

import threading
import time

import numpy as np

from workbench.data.demo import faces_truth
from workbench.labeling import background
from workbench.labeling import suggest as S


def test_annotators_starting_together_share_one_feature_computation(faces, monkeypatch):
    calls = []
    real = S.dataset_features

    def counted(store, dataset, progress=S.no_progress, run=None):
        calls.append(dataset)
        time.sleep(0.2)  # all annotators ask while the first computation runs
        return real(store, dataset, progress, run)

    monkeypatch.setattr(S, "dataset_features", counted)
    pool = S.SuggesterPool(faces)
    team = [pool.get("faces", f"ann{k}") for k in range(4)]
    assert all(s.wait(120) for s in team)
    assert calls == ["faces"]
    assert len({id(s._features) for s in team}) == 1


def test_one_retrain_at_a_time_across_annotators(faces, monkeypatch):
    truth = faces_truth(faces)
    for k in range(3):
        for cls in ("face", "not face"):
            for i in truth.index[truth == cls][:5]:
                faces.add_label(int(i), cls, f"ann{k}")
    running, most, guard = [0], [0], threading.Lock()
    real = S.Suggester._train

    def tracked(self):
        with guard:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.1)  # long enough for the others to try
        try:
            return real(self)
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(S.Suggester, "_train", tracked)
    pool = S.SuggesterPool(faces)
    team = [pool.get("faces", f"ann{k}") for k in range(3)]
    assert all(s.wait(120) for s in team)
    assert all(s.latest() is not None for s in team)
    assert most[0] == 1


def test_a_big_sets_embedding_runs_in_a_lowest_priority_process_on_one_thread_while_keys_are_pressed(faces,
                                                                                                     monkeypatch):
    monkeypatch.setattr(S, "PROCESS_MIN", 100)   # faces (200 images) counts as big here
    pool = S.SuggesterPool(faces)
    pressing = threading.Event()

    def annotator():
        while not pressing.is_set():
            pool.activity.touch()
            time.sleep(0.2)

    threading.Thread(target=annotator, daemon=True).start()
    try:
        feats = pool.features("faces")
    finally:
        pressing.set()
    assert feats.x.shape[0] == 200 and np.isfinite(feats.x).all()
    reports = pool.embedder.reports
    assert len(reports) >= 2 and set(reports) == {(1, background.LOWEST)}   # every batch on one thread, nice 19
    assert pool.embedder._proc is None   # the worker (and the backbone's memory) is gone once the set is embedded


def test_a_big_sets_retrain_in_the_worker_uses_every_core_when_nobody_is_pressing_keys(faces, monkeypatch):
    monkeypatch.setattr(S, "PROCESS_MIN", 100)
    truth = faces_truth(faces)
    for cls in ("face", "not face"):
        for i in truth.index[truth == cls][:5]:
            faces.add_label(int(i), cls, "ann")
    pool = S.SuggesterPool(faces)
    sugg = pool.get("faces", "ann")
    try:
        assert sugg.wait(300) and sugg.latest() is not None, sugg.status
        assert pool.trainer.reports == [(background.threads_for(0.0), background.LOWEST)]
        # the same suggestions as a retrain in this process
        feats = pool.features("faces")
        rows = feats.rows(faces.latest_labels("faces", "ann")["image_id"])
        y = faces.latest_labels("faces", "ann")["label"].map({"face": 0, "not face": 1}).to_numpy()
        here, _ = S.fit_predict(feats.x, rows, y, 2)
        np.testing.assert_allclose(sugg.latest().probs, here, atol=1e-4)
    finally:
        pool.trainer.close()
