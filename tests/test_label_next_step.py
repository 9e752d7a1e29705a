"""The Label tab opens on a set with work left, and an empty queue says why and what to do next."""

from __future__ import annotations

from samples import import_digits_sample
from workbench.data.demo import ensure_faces, faces_truth
from workbench.labeling import label, open_session, skip
from workbench.labeling.next_step import dataset_to_open, first_dataset_to_label


def test_preselects_the_first_dataset_with_unlabeled_images(store):
    assert first_dataset_to_label(store) is None  # no dataset yet
    digits = import_digits_sample(store)   # imported first, every image labelled (by "import")
    ensure_faces(store)    # unlabeled
    assert first_dataset_to_label(store) == "faces"
    # per annotator: alice has labelled nothing of digits yet
    assert first_dataset_to_label(store, "alice") == digits
    store.add_labels("faces", list(faces_truth(store).items()), "truth")
    assert first_dataset_to_label(store) == digits  # all labelled: the first set, to review


def test_a_labelling_page_opens_on_the_set_the_annotator_last_worked_on(store):
    ensure_faces(store)
    digits = import_digits_sample(store)
    assert dataset_to_open(store, "alice") == "faces"  # nothing labelled yet: the first set with work left
    ids = list(store.images(digits)["image_id"])
    store.add_label(ids[0], "3", "alice")
    assert dataset_to_open(store, "alice") == digits  # though faces comes first and is all unlabeled
    store.add_label(int(store.images("faces")["image_id"][0]), "face", "alice")
    assert dataset_to_open(store, "alice") == "faces"  # the newest label decides
    assert dataset_to_open(store, "bob") == "faces" and dataset_to_open(store, None) == "faces"


def test_empty_queue_says_all_labelled_and_suggests_training(faces_labelled):
    s = open_session(faces_labelled, "faces", "truth")
    assert s.image_id is None
    assert s.message == ("All 200 images are labelled — train a model in the Experiments tab, "
                         "or pick the 'all' order to review them.")
    s = open_session(faces_labelled, "faces", "truth", order="tag", only="glasses")
    assert "No image carries the tag 'glasses'" in s.message and "pick another tag" in s.message
    assert open_session(faces_labelled, "faces", "truth", order="all").image_id is not None


def test_queue_ending_mid_session_suggests_the_next_step(faces):
    assert open_session(faces, "faces", "ann", order="class", only="face").message == (
        "No image is labelled 'face' yet: pick another class, or label images in the 'unlabeled' order.")
    truth = faces_truth(faces)
    faces.add_labels("faces", list(truth.items())[:197], "ann")
    s = open_session(faces, "faces", "ann")
    s = skip(faces, s)
    s = label(faces, s, "not face")
    s = label(faces, s, "not face")
    assert s.image_id is None
    assert "End of the queue. 1 of 200 images are still unlabeled" in s.message and "press Start" in s.message
    s = open_session(faces, "faces", "ann")
    s = label(faces, s, "not face")
    assert s.message.endswith("End of the queue. All 200 images are labelled — train a model in the Experiments "
                              "tab, or pick the 'all' order to review them.")
