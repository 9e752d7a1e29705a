"""Model-assisted labelling on the faces demo set: suggestions after the minimum labels, background retrains that
never block a keypress or move the image on screen, provenance of accepted labels and pages, the suggested orders,
and the simulated annotator."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from workbench.data.demo import faces_truth
from workbench.errors import WorkbenchError
from workbench.labeling import suggest as S
from workbench.labeling.grid import accept_page, verify_page
from workbench.labeling.queue import build_queue
from workbench.labeling.session import apply_action, open_session, step, take_left_out, view
from workbench.labeling.simulate import Policy, simulate


def _seed_labels(store, truth, per_class, annotator="ann"):
    """`per_class` true labels of each class, typed (the first images of each class in file order)."""
    items = []
    for cls in ("face", "not face"):
        items += [(i, cls) for i in truth.index[truth == cls][:per_class]]
    for i, cls in items:
        store.add_label(int(i), cls, annotator)
    return [i for i, _ in items]


def test_suggestions_appear_only_after_the_minimum_labels(faces):
    truth = faces_truth(faces)
    _seed_labels(faces, truth, 4)
    faces.add_label(int(truth.index[truth == "face"][4]), "face", "ann")   # 5 faces, 4 non-faces
    sugg = S.Suggester(faces, "faces", "ann")
    assert sugg.wait(120)
    assert sugg.latest() is None
    assert "1 more not face" in sugg.status
    faces.add_label(int(truth.index[truth == "not face"][4]), "not face", "ann")
    sugg.poke()
    assert sugg.wait(60)
    snap = sugg.latest()
    assert snap is not None and snap.trained_on == 10
    unlabeled = [i for i in truth.index if i not in set(faces.latest_labels("faces", "ann")["image_id"])]
    got = [snap.of(i)[0] for i in unlabeled]
    assert np.mean([g == truth[i] for g, i in zip(got, unlabeled)]) > 0.6   # better than chance from 10 labels


def test_retrain_never_blocks_a_keypress_nor_moves_the_image_on_screen(faces, monkeypatch):
    truth = faces_truth(faces)
    _seed_labels(faces, truth, 5)
    sugg = S.Suggester(faces, "faces", "ann", every=2)
    assert sugg.wait(120) and sugg.latest() is not None
    s = open_session(faces, "faces", "ann", "uncertain", suggester=sugg)
    before = view(faces, s, sugg)
    assert before.suggestion in ("face", "not face") and 0 < before.confidence <= 1

    release, fitting = threading.Event(), threading.Event()
    real_fit = S.fit_head

    def held_fit(*a, **k):
        fitting.set()
        assert release.wait(60)
        return real_fit(*a, **k)

    monkeypatch.setattr(S, "fit_head", held_fit)
    apply_action(faces, s, f"label:{truth[s.image_id]}", sugg)
    apply_action(faces, s, f"label:{truth[s.image_id]}", sugg)   # 2nd new label: a retrain starts
    assert fitting.wait(30), "the second label should have started a retrain"
    on_screen = view(faces, s, sugg)
    done = threading.Event()
    threading.Thread(target=lambda: (apply_action(faces, s, f"label:{truth[s.image_id]}", sugg), done.set()),
                     daemon=True).start()
    # the retrain is held inside its fit; a keypress still completes
    assert done.wait(30), "a keypress waited for the retrain"
    after_skip = view(faces, s, sugg)
    assert after_skip.image_id != on_screen.image_id and after_skip.suggestion is not None
    version = sugg.latest().version
    release.set()
    assert sugg.wait(60) and sugg.latest().version == version + 1
    # the new snapshot never changes what is on screen, nor its pinned suggestion
    assert view(faces, s, sugg).image_id == after_skip.image_id
    assert view(faces, s, sugg).suggestion == after_skip.suggestion
    # the images still to come are re-ranked by the new snapshot (least sure first)
    apply_action(faces, s, "skip", sugg)
    rest = s.queue[s.qpos - 1:]
    assert rest[:20] == [i for i in build_queue(faces, "faces", "ann", "uncertain", suggestions=sugg.latest())
                         if i in set(rest)][:20]


def test_enter_accepts_the_suggestion_shown_with_its_confidence(faces):
    truth = faces_truth(faces)
    _seed_labels(faces, truth, 5)
    sugg = S.Suggester(faces, "faces", "ann")
    assert sugg.wait(120)
    s = open_session(faces, "faces", "ann", "confident", suggester=sugg)
    v = view(faces, s, sugg)
    apply_action(faces, s, "accept", sugg)
    row = faces.latest_labels("faces", "ann").set_index("image_id").loc[v.image_id]
    assert (row["label"], row["source"]) == (v.suggestion, "accepted")
    assert row["confidence"] == pytest.approx(v.confidence)
    assert s.image_id != v.image_id
    typed = s.image_id
    apply_action(faces, s, "2", sugg)   # a class key overrides the suggestion, as ever
    row = faces.latest_labels("faces", "ann").set_index("image_id").loc[typed]
    assert (row["label"], row["source"]) == ("not face", "typed") and np.isnan(row["confidence"])


def test_a_suggestion_under_the_floor_is_never_offered_and_enter_then_accepts_nothing(faces):
    truth = faces_truth(faces)
    _seed_labels(faces, truth, 5)
    sugg = S.Suggester(faces, "faces", "ann")
    assert sugg.wait(120) and sugg.latest().floor == S.SUGGESTION_FLOOR == 0.5
    page = verify_page(faces, "faces", "ann", 0, 10, sugg.latest())
    left_out = int(page.items["image_id"].iloc[0])
    # left out of a "face" page: its runner-up, "not face", is what remains, and the model is under 50% sure of it
    assert sugg.latest().of(left_out, exclude=page.suggested)[1] < 0.5
    s = take_left_out(faces, None, "faces", "ann", [left_out], page.suggested, sugg)
    v = view(faces, s, sugg)
    assert v.image_id == left_out and v.suggestion is None and "less than 50% sure" in v.no_suggestion
    # the page showed it as its class, often 100% sure: the status says that class is set aside, not "unsure"
    assert f"left it out of the {page.suggested!r} page" in v.no_suggestion and "any other class" in v.no_suggestion
    v = step(faces, s, "accept", suggester=sugg)
    assert v.image_id == left_out and v.message.startswith("Enter accepts nothing here")
    assert f"left it out of the {page.suggested!r} page" in v.message
    assert left_out not in set(faces.latest_labels("faces", "ann")["image_id"])
    v = step(faces, s, "label", page.suggested, sugg)  # its key still labels it
    assert faces.current_label(left_out, "ann") == page.suggested


def test_verify_pages_hold_only_suggestions_at_or_over_the_floor(faces):
    truth = faces_truth(faces)
    _seed_labels(faces, truth, 5)
    strict = S.SuggesterPool(faces, floor=0.9).get("faces", "ann")
    assert strict.wait(120)
    snap = strict.latest()
    pages = [verify_page(faces, "faces", "ann", k, 20, snap) for k in range(10)]
    shown = np.concatenate([p.items["confidence"].to_numpy() for p in pages])
    unlabeled = build_queue(faces, "faces", "ann")
    _, rows = snap.rows(unlabeled)
    best = snap.probs[rows].max(1)
    on_pages = set(np.concatenate([p.items["image_id"] for p in pages]))
    assert (shown >= 0.9).all() and len(on_pages) == (best >= 0.9).sum()
    s = open_session(faces, "faces", "ann", "confident", suggester=strict)  # walks every image all the same
    while s.image_id is not None and view(faces, s, strict).suggestion is not None:
        step(faces, s, "skip", suggester=strict)
    if (best < 0.9).any():
        assert s.image_id is not None and "less than 90% sure" in view(faces, s, strict).no_suggestion
    nothing = S.SuggesterPool(faces, floor=1.0).get("faces", "ann")
    assert nothing.wait(120)
    empty = verify_page(faces, "faces", "ann", 0, 20, nothing.latest())
    assert empty.items.empty and "less than 100% sure" in empty.summary(faces, "faces", "ann", "confident")
    with pytest.raises(WorkbenchError, match="between 0 and 1"):
        S.SuggesterPool(faces, floor=1.5)


def test_verify_pages_sized_from_the_expected_error_rate_are_long_where_the_model_is_sure_and_can_show_doubts_first():
    conf = np.array([0.99] * 150 + [0.9] * 30 + [0.6] * 10)
    snap = S.Suggestions(1, ("a", "b"), np.arange(190), np.stack([conf, 1 - conf], 1), 10, 0.0)
    sizes = [len(ids) for _, ids in S.verify_pages(snap, range(190), 100, most_wrong=2.0)]
    # 100 sure ones expect 1 wrong: a full page; then 50 × 0.01 + 15 × 0.1 = 2; then 15 × 0.1 + 2 × 0.4 ≥ 2; ...
    assert sizes == [100, 65, 17, 5, 3] and sum(sizes) == 190
    assert [len(ids) for _, ids in S.verify_pages(snap, range(190), 100)] == [100, 90]
    # shown least sure first, where the keyboard cursor starts: the same pages, each reversed
    plain = S.verify_pages(snap, range(190), 100, most_wrong=2.0)
    flipped = S.verify_pages(snap, range(190), 100, most_wrong=2.0, least_sure_first=True)
    assert [ids[::-1] for _, ids in flipped] == [ids for _, ids in plain] and flipped[1][1][0] == 164


def test_verify_page_is_one_class_most_confident_first_and_accepts_in_one_transaction(faces):
    truth = faces_truth(faces)
    seeded = _seed_labels(faces, truth, 5)
    sugg = S.Suggester(faces, "faces", "ann")
    assert sugg.wait(120)
    page = verify_page(faces, "faces", "ann", 0, 20, sugg.latest())
    conf = page.items["confidence"].to_numpy()
    assert len(page.items) == 20 and (np.diff(conf) <= 1e-9).all()
    assert page.verify == (page.suggested, pytest.approx(conf.tolist()))   # what accepting the page takes
    assert page.summary(faces, "faces", "ann", "confident").startswith(f"Suggested as {page.suggested}: ")
    assert not set(page.items["image_id"]) & set(seeded)
    ids = page.items["image_id"].astype(int).tolist()
    out = ids[3:5]
    with pytest.raises(WorkbenchError):   # an unknown class: nothing of the page is written
        accept_page(faces, "faces", "ann", "cat", list(zip(ids, conf)), out)
    assert len(faces.latest_labels("faces", "ann")) == 10
    n = accept_page(faces, "faces", "ann", page.suggested, list(zip(ids, conf)), out)
    cur = faces.latest_labels("faces", "ann").set_index("image_id")
    assert n == 18 and set(cur.index) == set(seeded) | (set(ids) - set(out))
    paged = cur.loc[[i for i in ids if i not in out]]
    assert (paged["source"] == "page").all() and (paged["label"] == page.suggested).all()
    assert paged["created_at"].nunique() == 1
    np.testing.assert_allclose(paged["confidence"], [c for i, c in zip(ids, conf) if i not in out], rtol=1e-6)
    # the review order lists accepted suggestions least confident first (equally sure ones by image id)
    review = build_queue(faces, "faces", "ann", "accepted")
    assert review == paged.reset_index().sort_values(["confidence", "image_id"])["image_id"].tolist()


def test_a_class_key_on_a_page_corrects_that_image_in_the_pages_transaction(faces):
    ids = faces.images("faces")["image_id"].astype(int).tolist()[:6]
    items = [(i, 0.9) for i in ids]
    with pytest.raises(WorkbenchError, match="no class 'cat'"):   # a bad correction: nothing of the page is written
        accept_page(faces, "faces", "ann", "face", items, corrected={ids[1]: "cat"})
    with pytest.raises(WorkbenchError, match="not on this page"):
        accept_page(faces, "faces", "ann", "face", items[:3], corrected={ids[4]: "not face"})
    assert faces.latest_labels("faces", "ann").empty
    n = accept_page(faces, "faces", "ann", "face", items, left_out=[ids[0]], corrected={ids[1]: "not face"})
    cur = faces.latest_labels("faces", "ann").set_index("image_id")
    assert n == 5 and ids[0] not in cur.index
    assert (cur.loc[ids[1], "label"], cur.loc[ids[1], "source"]) == ("not face", "typed")
    assert (cur.loc[ids[2:], "label"] == "face").all() and (cur.loc[ids[2:], "source"] == "page").all()


def test_simulated_annotator_reaches_the_truth(faces):
    truth = faces_truth(faces)
    r = simulate(faces, "faces", truth.to_dict(), Policy(page_size=50), miss=0.0)
    cur = faces.latest_labels("faces", "sim")
    assert len(cur) == 200 and r.right == 1.0 and r.accepted_wrong == 0
    suggested = cur[cur["source"].isin(["accepted", "page"])]
    assert len(suggested) > 100   # most labels came from suggestions...
    assert (suggested["label"].to_numpy() == truth.loc[suggested["image_id"]].to_numpy()).all()  # ...all right
    assert r.actions < 200 and r.pages >= 2
    assert set(cur["source"]) <= {"typed", "accepted", "page"}


def test_export_and_agreement_carry_provenance(faces, home):
    from workbench.labeling import export_table, pairwise_kappa

    ids = faces.images("faces")["image_id"].astype(int).tolist()
    faces.add_label(ids[0], "face", "ann")
    faces.add_label(ids[1], "face", "ann", source="accepted", confidence=0.91)
    faces.add_labels("faces", [(ids[2], "not face", 0.66), (ids[3], "face", 0.8)], "ann", source="page")
    for i, cls in zip(ids[:4], ("face", "not face", "face", "not face")):
        faces.add_label(i, cls, "bob")
    t = export_table(faces, "faces", annotator="ann")
    assert t[["source", "confidence"]].values.tolist() == [["typed", ""], ["accepted", 0.91], ["page", 0.66],
                                                           ["page", 0.8]]
    every = pairwise_kappa(faces, "faces")
    typed = pairwise_kappa(faces, "faces", suggested=False)
    assert every["images"].tolist() == [4] and every["agree"].tolist() == [1]
    assert typed["images"].tolist() == [1] and typed["agree"].tolist() == [1]   # only ann's typed label


KILLED_AFTER_PAGE = """
import os, signal, sys
from workbench.store import Store
from workbench.labeling.grid import accept_page
ids = [int(a) for a in sys.argv[1:]]
n = accept_page(Store(), "faces", "ann", "face", [(i, 0.9) for i in ids], ids[:2])
print("ACK", n, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_an_acknowledged_page_survives_kill_9(faces, home):
    import subprocess
    import sys

    ids = faces.images("faces")["image_id"].astype(int).tolist()[:12]
    done = subprocess.run([sys.executable, "-c", KILLED_AFTER_PAGE, *map(str, ids)], capture_output=True, text=True,
                          cwd=home, timeout=120)
    assert done.returncode == -9 and "ACK 10" in done.stdout, done.stderr
    cur = faces.latest_labels("faces", "ann")
    assert sorted(cur["image_id"]) == ids[2:] and set(cur["source"]) == {"page"}


@pytest.mark.parametrize("make", ["Suggester(s, 'digits', 'me')", "SuggesterPool(s).get('digits', 'me')"],
                         ids=["in a thread", "in the pool's worker process"])
def test_exit_while_embeddings_are_computed_ends_cleanly(tmp_path, make):
    """A process that ends while a worker is inside torch used to abort (exit 134, 'terminate called ...'); the
    pool embeds the 1,797 digits in a worker process, which must end with it."""
    script = (
        "import time\n"
        "from workbench.store import Store\n"
        "from workbench.data.demo import ensure_digits\n"
        "from workbench.labeling.suggest import Suggester, SuggesterPool\n"
        "s = Store(); ensure_digits(s)\n"
        f"w = {make}\n"
        "t = time.time() + 240\n"
        "while 'computing embeddings: 2' not in w.status and time.time() < t:\n"
        "    time.sleep(0.05)\n"
        "print(w.status, flush=True)\n"
        "import multiprocessing as mp; print('children', [p.pid for p in mp.active_children()], flush=True)\n"
    )
    env = {**os.environ, "WORKBENCH_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=400)
    assert "computing embeddings" in r.stdout  # it did exit mid-way
    assert r.returncode == 0, r.stderr[-2000:]
    children = [int(p) for p in r.stdout.split("children [")[1].split("]")[0].replace(",", " ").split()]
    assert not any(os.path.exists(f"/proc/{pid}") and "Z" not in open(f"/proc/{pid}/stat").read().split()[2]
                   for pid in children)   # the worker process ended with the app


def test_suggestions_for_small_grey_crops_use_their_pixels_beside_the_backbone(store):
    """300 of sklearn's 8×8 digits, 5 labels a class: the ImageNet backbone's embedding alone suggests right on about
    70% of the rest (68-71% on three draws); with the thumbnails' own pixels beside it, about 92%."""
    from sklearn.datasets import load_digits

    from workbench.data.importers.arrays import import_arrays

    d = load_digits()
    x, y = (d.images[:300] * (255 / 16)).round().astype(np.uint8), d.target[:300]
    import_arrays(store, x, y, [str(c) for c in range(10)], name="d300")
    truth = store.latest_labels("d300").set_index("image_id")["label"]
    rng = np.random.default_rng(0)
    seed = np.concatenate([rng.choice(truth.index[truth == str(c)], 5, replace=False) for c in range(10)])
    store.add_labels("d300", [(int(i), truth[i]) for i in seed], "ann")
    snap = S.Suggester(store, "d300", "ann", start=False).refresh_now()
    rest = truth.drop(seed)
    _, rows = snap.rows(rest.index)
    right = np.array(snap.classes)[snap.probs[rows].argmax(1)] == rest.to_numpy()
    assert right.mean() > 0.85


def test_a_retrain_keeps_the_pixel_columns_only_where_they_help_on_its_labels():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    signal = rng.normal(size=(60, 8)) + 1.5 * np.eye(8)[y]       # the embedding's columns separate the classes
    noise = 3.0 * rng.normal(size=(60, 64))                       # pixel columns that say nothing
    x = np.hstack([signal, noise]).astype(np.float32)
    rows = np.arange(60)
    assert not S.pixels_help(x, rows, y, 3, split=8)
    helpful = np.hstack([0.2 * rng.normal(size=(60, 8)), signal]).astype(np.float32)   # now the pixels carry it
    assert S.pixels_help(helpful, rows, y, 3, split=8)
    probs, fitted = S.fit_predict(x, rows, y, 3, split=8)
    assert fitted.head.weight.shape == (3, 8) and probs.shape == (60, 3)   # the noise columns were left out


def test_a_cnn_on_the_grey_crops_is_averaged_in_only_where_a_check_on_the_labels_says_it_helps(monkeypatch):
    """sklearn's digits as 28×28 crops: where the head's columns say nothing, the CNN on the crops is kept, carried
    to the next retrain and lifts the suggestions; where the crops are noise it is left out."""
    from PIL import Image
    import torch
    from sklearn.datasets import load_digits

    from workbench.labeling import crop_cnn

    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # as the app's retrains while an annotator works (two threads on a loaded box: 6x slower)
    try:
        for module, name, value in ((S, "CHECK_STEPS", 60), (crop_cnn, "STEPS", 100), (crop_cnn, "WARM_STEPS", 20),
                                    (crop_cnn, "BATCH", 32)):   # a small CNN fit keeps the test quick
            monkeypatch.setattr(module, name, value)
        d = load_digits(n_class=4)
        n = 200
        crops = np.stack([np.asarray(Image.fromarray((im * 15.9).astype(np.uint8)).resize((28, 28), Image.BILINEAR))
                          for im in d.images[:n]])
        y, rng = d.target[:n], np.random.default_rng(0)
        noise_x = rng.normal(size=(n, 8)).astype(np.float32)
        rows = np.arange(S.CNN_MIN)
        assert S.cnn_helps(noise_x, crops, rows, y[rows], 4)
        signal_x = (np.eye(4)[y] + 0.3 * rng.normal(size=(n, 4))).astype(np.float32)
        noise_crops = rng.integers(0, 256, crops.shape).astype(np.uint8)
        assert not S.cnn_helps(signal_x, noise_crops, rows, y[rows], 4)

        head_only, _ = S.fit_predict(noise_x, rows, y[rows], 4)
        probs, fitted = S.fit_predict(noise_x, rows, y[rows], 4, crops=crops)
        assert fitted.cnn_kept and fitted.cnn is not None and fitted.checked_at == S.CNN_MIN
        rest = np.arange(S.CNN_MIN, n)
        assert (probs[rest].argmax(1) == y[rest]).mean() > (head_only[rest].argmax(1) == y[rest]).mean() + 0.3
        _, again = S.fit_predict(noise_x, np.arange(110), y[:110], 4, start=fitted, crops=crops)
        assert again.checked_at == S.CNN_MIN and again.cnn is not fitted.cnn   # not checked again yet; the CNN went on
        _, few = S.fit_predict(noise_x, rows[:S.CNN_MIN - 1], y[:S.CNN_MIN - 1], 4, crops=crops)
        assert few.cnn is None and not few.checked_at                     # too few labels to fit a CNN on
    finally:
        torch.set_num_threads(threads)
