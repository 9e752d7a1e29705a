"""A team on one set: the pool computes the dataset's features once for all annotators and runs one retrain at a
time, so many annotators starting together do not multiply the background work."""

from __future__ import annotations

import threading
import time

from workbench.data.demo import faces_truth
from workbench.labeling import suggest as S


def test_annotators_starting_together_share_one_feature_computation(faces, monkeypatch):
    calls = []
    real = S.dataset_features

    def counted(store, dataset, progress=S.no_progress):
        calls.append(dataset)
        time.sleep(0.2)  # all annotators ask while the first computation runs
        return real(store, dataset, progress)

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
