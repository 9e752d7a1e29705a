"""Predicting new images with a trained run: files, folders and zips on the command line and in the Predict tab;
decisions at the run's threshold; unreadable images listed with their reason while the rest are predicted."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.data import lfw_subset

from faces_run import RUN
from samples import D3_RUN, three_digit_classes
from workbench.cli import main
from workbench.data.imageio import load_image
from workbench.errors import WorkbenchError
from workbench.evaluate.threshold import choose_threshold
from workbench.predict.explainable import Explainable
from workbench.predict.predict import Predictions, predict_paths
from workbench.predict.sources import ImageSource, gather, short_names
from workbench.train.predict import predict
from workbench.train.runs import load_run

FACES, NON_FACES = [0, 1, 2, 3], [150, 151, 152, 153]  # lfw_subset: 100 faces, then 100 non-faces


@pytest.fixture(scope="module")
def photos(faces_run_home):
    """A trained faces run, and new image files: real faces and non-faces, a corrupt PNG, an RGBA one."""
    home, store = faces_run_home.home, faces_run_home.store
    folder = home / "photos"
    (folder / "sub").mkdir(parents=True)
    x = (lfw_subset() * 255).astype(np.uint8)
    for i in FACES + NON_FACES:
        Image.fromarray(x[i]).save(folder / ("sub" if i in (3, 153) else ".") / f"lfw{i}.png")
    (folder / "broken.png").write_bytes((folder / "lfw0.png").read_bytes()[:60])  # truncated
    (folder / "notes.txt").write_text("not an image")  # not an image name: a folder search skips it
    rgba = Image.fromarray(x[1]).convert("RGBA")
    rgba.putalpha(255)
    rgba.save(home / "rgba.png")
    with zipfile.ZipFile(home / "batch.zip", "w") as z:
        z.write(folder / "lfw2.png", "in/lfw2.png")
        z.write(folder / "lfw152.png", "in/lfw152.png")
        z.writestr("in/empty.png", b"")
    return {"home": home, "store": store, "folder": folder}


def _expected(loaded, path):
    return predict(loaded, [load_image(path)])[0]


def test_cli_predicts_files_folders_and_zips_and_lists_bad_images(ws, photos, capsys):
    home, folder = photos["home"], photos["folder"]
    out = home / "out" / "predictions.csv"
    code = main(["predict", RUN, str(folder), str(home / "batch.zip"), str(home / "rgba.png"),
                 str(home / "missing.png"), "--out", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    df = pd.read_csv(out)
    ok, bad = df[df.error.isna()], df[df.error.notna()].set_index("file")
    assert len(ok) == 8 + 2 + 1  # the folder's 8 readable images, 2 from the zip, the RGBA file
    assert bad.loc[str(folder / "broken.png"), "error"].startswith("corrupt or truncated image")
    assert bad.loc[f"{home / 'batch.zip'}:in/empty.png", "error"] == "empty file (0 bytes)"
    assert bad.loc[str(home / "missing.png"), "error"] == "no such file or folder"
    assert not df.file.str.endswith("notes.txt").any()
    assert f"could not read {folder / 'broken.png'}" in captured.err and "11 images predicted" in captured.out

    loaded = load_run(ws.run(RUN))
    t = ws.run(RUN).threshold  # none existed: chosen now, at the EER on the validation split
    assert t is not None and t.rule == "eer" and t.split == "val"
    by_file = ok.set_index("file")
    row = by_file.loc[str(folder / "sub" / "lfw3.png")]  # found recursively
    np.testing.assert_allclose([row["p_face"], row["p_not face"]], _expected(loaded, folder / "sub" / "lfw3.png"),
                               atol=1e-5)
    zipped = by_file.loc[f"{home / 'batch.zip'}:in/lfw152.png"]
    assert zipped["p_not face"] == pytest.approx(by_file.loc[str(folder / "lfw152.png"), "p_not face"], abs=1e-6)
    assert ((ok["p_not face"] >= t.threshold) == (ok["decision"] == "not face")).all()
    # real faces are called faces, real non-faces not: the model works on images it never saw as files
    truth = ok.file.str.extract(r"lfw(\d+)\.png$")[0].astype(float).map(lambda i: "face" if i < 100 else "not face")
    known = truth.notna() & ok.file.str.contains("lfw")
    assert (ok.loc[known, "decision"] == truth[known]).mean() >= 0.8
    assert by_file.loc[str(home / "rgba.png"), "p_face"] == pytest.approx(by_file.loc[str(folder / "lfw1.png"),
                                                                                       "p_face"], abs=1e-5)


def test_decisions_follow_the_stored_threshold_and_an_override(ws, photos, tmp_path):
    choose_threshold(ws.run(RUN), "fnr=0")
    t = ws.run(RUN).threshold
    result = predict_paths(ws.run(RUN), [photos["folder"]])
    assert result.threshold == t.threshold and "fnr=0 on val" in result.rule
    called = result.table["p_not face"] >= t.threshold
    assert (result.table.loc[called, "decision"] == "not face").all()
    assert (result.table.loc[~called, "decision"] == "face").all()
    everything = predict_paths(ws.run(RUN), [photos["folder"]], threshold=0.0)
    assert (everything.table["decision"] == "not face").all()  # P >= 0 holds for every image
    out = tmp_path / "p.csv"
    cut = float(result.table["p_not face"].median())
    assert main(["predict", RUN, str(photos["folder"]), "--threshold", str(cut), "--out", str(out)]) == 0
    df = pd.read_csv(out).dropna(subset=["decision"])
    assert ((df["p_not face"] >= cut) == (df.decision == "not face")).all() and (df.decision == "face").sum() >= 3
    with pytest.raises(SystemExit):
        main(["predict", RUN, str(photos["folder"]), "--threshold", "1.5"])


def test_batches_and_progress_give_the_same_probabilities(ws, photos):
    calls = []

    def progress(it, total, desc):
        calls.append((total, desc))
        return it

    small = predict_paths(ws.run(RUN), [photos["folder"]], batch_size=3, progress=progress)
    whole = predict_paths(ws.run(RUN), [photos["folder"]], batch_size=64)
    assert calls == [(3, "Predicting 9 images")]  # 9 image files (one corrupt) in batches of 3
    np.testing.assert_allclose(small.table[["p_face", "p_not face"]], whole.table[["p_face", "p_not face"]], atol=1e-5)
    assert small.bad == whole.bad and len(small.bad) == 1


def test_a_zip_escaping_its_folder_is_refused_and_the_rest_predicted(ws, photos, tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.write(photos["folder"] / "lfw0.png", "../../escaped.png")
        z.write(photos["folder"] / "lfw1.png", "fine.png")
    result = predict_paths(ws.run(RUN), [evil, photos["folder"] / "lfw150.png"])
    assert result.table.file.tolist() == [str(photos["folder"] / "lfw150.png")]
    assert result.bad[0][0].endswith("evil.zip:../../escaped.png") and "zip-slip" in result.bad[0][1]
    assert not (tmp_path.parent / "escaped.png").exists() and not list(tmp_path.rglob("escaped.png"))


def test_nothing_readable_is_a_clear_error(ws, photos, tmp_path, capsys):
    (tmp_path / "a.jpg").write_bytes(b"hello")
    with pytest.raises(WorkbenchError, match=r"No image could be predicted:\n.*a.jpg: not an image file"):
        predict_paths(ws.run(RUN), [tmp_path / "a.jpg"])
    assert main(["predict", RUN, str(tmp_path / "nothing-here"), "--out", str(tmp_path / "p.csv")]) == 2
    assert "nothing-here: no such file or folder" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()
    (tmp_path / "empty").mkdir()
    sources, problems = gather([tmp_path / "empty"])
    assert sources == [] and problems == [(str(tmp_path / "empty"), "folder holds no image files")]
    assert main(["predict", "no-such-run", str(tmp_path / "a.jpg")]) == 2


def test_multiclass_run_decides_by_the_most_probable_class(d3_run, tmp_path):
    x, _ = three_digit_classes()
    run = d3_run.ws.run(D3_RUN)
    for k in range(6):
        Image.fromarray(x[k * 15]).save(tmp_path / f"d{k}.png")
    result = predict_paths(run, [tmp_path])
    probs = result.table[["p_0", "p_1", "p_2"]].to_numpy()
    assert result.threshold is None and result.rule == "argmax"
    assert result.table.decision.tolist() == [str(k) for k in probs.argmax(1)]
    with pytest.raises(WorkbenchError, match="binary runs"):
        predict_paths(run, [tmp_path], threshold=0.5)


def test_uploads_are_shown_by_file_name_and_rows_are_numbered(tmp_path):
    up, z = tmp_path / "gradio" / "abc" / "photo.png", tmp_path / "gradio" / "def" / "set.zip"
    rename = short_names([up, str(z)])
    assert rename(str(up)) == "photo.png" and rename(f"{z}:in/a.png") == "set.zip:in/a.png"
    assert rename("/elsewhere/x.png") == "/elsewhere/x.png"
    result = Predictions("r", ["a", "b"], pd.DataFrame({"file": [str(up), f"{z}:in/a.png"], "decision": ["a", "b"],
                                                        "confidence": [0.912345, 0.5], "p_a": [0.912345, 0.5],
                                                        "p_b": [0.087655, 0.5]}),
                         bad=[(f"{z}:in/empty.png", "empty file (0 bytes)")])
    table, bad = result.display(rename)
    assert table.columns[0] == "row" and table.row.tolist() == [0, 1]
    assert table.file.tolist() == ["photo.png", "set.zip:in/a.png"] and table.p_a.tolist() == [0.9123, 0.5]
    assert bad.to_dict("records") == [{"file": "set.zip:in/empty.png", "reason": "empty file (0 bytes)"}]


def test_a_row_is_explained_from_its_kept_source(tmp_path):
    sources = [ImageSource("a.png", tmp_path / "a.png"), ImageSource("s.zip:x.png", tmp_path / "s.zip", "x.png")]
    result = Predictions("r", ["a", "b"], pd.DataFrame(), threshold=0.3, sources=sources)
    shown = Explainable.of(result)
    assert (shown.run, shown.threshold) == ("r", 0.3)
    assert shown.source(1) == ImageSource("s.zip:x.png", tmp_path / "s.zip", "x.png")
    assert shown.source(0.0) == sources[0]
    for row in (None, -1, 2):
        with pytest.raises(WorkbenchError, match="Predict some images first"):
            shown.source(row)
    with pytest.raises(WorkbenchError, match="Predict some images first"):
        Explainable.nothing().source(0)


def test_predict_tab_through_the_app(photos):
    from gradio_client import Client, handle_file

    from browser.appserver import served

    folder = photos["folder"]
    with served(photos["store"]) as url:
        client = Client(url, verbose=False)
        uploads = [handle_file(str(folder / "lfw0.png")), handle_file(str(folder / "broken.png")),
                   handle_file(str(photos["home"] / "batch.zip"))]
        status, table, bad, row = client.predict(RUN, uploads, None, api_name="/predict_images")
        assert "3 images predicted" in status and "2 could not be read" in status and row == 0
        files = [r[table["headers"].index("file")] for r in table["data"]]
        assert files == ["lfw0.png", "batch.zip:in/lfw152.png", "batch.zip:in/lfw2.png"]  # names, not temp paths
        assert {tuple(r) for r in bad["value"]["data"]} >= {("batch.zip:in/empty.png", "empty file (0 bytes)")}
        original, overlay, caption = client.predict(1, api_name="/explain_prediction")
        assert caption.startswith("batch.zip:in/lfw152.png · decision:") and "Grad-CAM of" in caption
        with Image.open(overlay) as im:
            cam = np.asarray(im.convert("RGB"), dtype=float)
        assert min(cam.shape[:2]) >= 300 and cam.std(axis=(0, 1)).max() > 10  # a real heatmap, not one flat colour
        status, *_ = client.predict(RUN, [], handle_file(str(folder / "lfw150.png")), api_name="/predict_images")
        assert "1 image predicted" in status  # the webcam/paste picture alone
        with pytest.raises(Exception, match="Pick a run and add images"):
            client.predict(RUN, [], None, api_name="/predict_images")


def test_the_summary_lists_the_decided_classes_of_a_many_class_run():
    """Two images of a 10-class run: the status named all ten classes ("'1' × 0, '2' × 0, ..."), now the two
    decided and how many were not; a binary run keeps both classes."""
    from workbench.predict.predict import Predictions

    ten = Predictions("r", [str(k) for k in range(10)], pd.DataFrame({"file": ["a", "b"], "decision": ["0", "6"]}))
    assert ten.summary() == "r: 2 images predicted; decisions: '0' × 1, '6' × 1 (0 for the other 8 classes), " \
                            "decision argmax"
    two = Predictions("r", ["mask", "no_mask"], pd.DataFrame({"file": ["a"], "decision": ["mask"]}))
    assert "decisions: 'mask' × 1, 'no_mask' × 0, decision argmax" in two.summary()
