"""Export: ONNX and TorchScript equal PyTorch within 1e-4 on real images through the real preprocessing, the card
describes the run, and the ONNX file runs with its card in a process that never imports workbench."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from browser.appserver import served
from samples import DIGITS_SAMPLE, import_digits_sample
from workbench.cli import main as cli
from workbench.data import splits as data_splits
from workbench.deploy.export import EXPORTERS, export_model
from workbench.errors import WorkbenchError
from workbench.train.config import RunConfig
from workbench.train.loop import train
from workbench.train.predict import predict
from workbench.train.runs import load_run

TOL = 1e-4
RUNS = {  # both backbones the issue names, binary and ten-class, grey input
    "faces-lite0": RunConfig(dataset="faces", method="feature_extract", input_size=64, epochs=1, batch_size=32,
                             name="faces-lite0"),
    "digits-r18": RunConfig(dataset=DIGITS_SAMPLE, method="feature_extract", backbone="resnet18", weights="none",
                            input_size=24, epochs=1, batch_size=128, name="digits-r18"),
}


@pytest.fixture(scope="module")
def trained(faces_home):
    home, store, ws = faces_home.home, faces_home.store, faces_home.ws
    import_digits_sample(store)
    for cfg in RUNS.values():
        assert train(ws, cfg).status == "completed"
    exports = {(run, fmt): export_model(ws.run(run), fmt) for run in RUNS for fmt in EXPORTERS}
    return {"home": home, "store": store, "exports": exports}


def real_images(store, dataset, n=12):
    paths = store.images(dataset)["path"].tolist()
    return [paths[i] for i in np.linspace(0, len(paths) - 1, n).astype(int)]


@pytest.mark.slow
@pytest.mark.parametrize("run,dataset", [("faces-lite0", "faces"), ("digits-r18", DIGITS_SAMPLE)])
@pytest.mark.parametrize("fmt", list(EXPORTERS))
def test_export_equals_pytorch_on_real_images(ws, trained, run, dataset, fmt):
    from workbench.deploy.export import eager_model

    loaded = load_run(ws.run(run), device="cpu")
    x = loaded.preprocess([Image.open(p) for p in real_images(trained["store"], dataset)])
    with torch.no_grad():
        want = [t.numpy() for t in eager_model(loaded)(x.contiguous())]
    result = trained["exports"][(run, fmt)]
    runner = EXPORTERS[fmt].load(result.model_file)
    got = runner(x.contiguous().numpy())  # 12 images, traced on 2: the batch axis is not fixed
    assert got[0].shape == want[0].shape == (12, len(loaded.classes))
    for g, w in zip(got, want):
        assert np.abs(g - w).max() <= TOL
    one = runner(x[:1].contiguous().numpy())
    assert np.abs(one[1] - want[1][:1]).max() <= TOL
    assert np.allclose(got[1].sum(1), 1, atol=1e-5)
    assert len(set(got[1].argmax(1))) > 1  # real predictions, not one constant answer


def test_card_describes_the_run(trained):
    card = json.loads(trained["exports"][("digits-r18", "onnx")].card_file.read_text())
    assert card["classes"] == [str(d) for d in range(10)]
    assert card["input"] == {"name": "input", "shape": ["batch", 3, 24, 24], "dtype": "float32", "layout": "NCHW",
                             "size": 24, "channels": 1}
    assert card["normalisation"] == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    assert (card["backbone"], card["method"]) == ("resnet18", "feature_extract")
    assert (card["format"], card["file"]) == ("onnx", "model.onnx")
    data = card["training_data"]
    store = trained["store"]
    labelled = data_splits.labelled(store, DIGITS_SAMPLE, seed=0)
    assert data["dataset"] == DIGITS_SAMPLE and data["images"] == len(labelled) == 400
    assert data["per_class"] == labelled.label.value_counts().to_dict()
    assert data["split_sizes"] == labelled.split.value_counts().to_dict()
    assert card["threshold"] is None  # no operating point chosen for this run
    assert 0 <= card["metrics"]["accuracy"] <= 1 and card["metrics"]["split"] == "val"
    assert any("resize to 24x24" in s for s in card["preprocessing"])
    assert "repeat the single channel three times" in card["preprocessing"]


def test_card_carries_the_stored_threshold(ws, trained, tmp_path):
    from workbench.evaluate.threshold import choose_threshold

    chosen = choose_threshold(ws.run("faces-lite0"))
    card = json.loads(export_model(ws.run("faces-lite0"), "torchscript", tmp_path / "with-threshold").card_file.read_text())
    assert card["threshold"]["threshold"] == pytest.approx(chosen.threshold)
    assert card["classes"][card["threshold"]["positive_index"]] == chosen.positive
    last = export_model(ws.run("faces-lite0"), "torchscript", tmp_path / "last", which="last").card_file
    assert json.loads(last.read_text())["threshold"] is None  # chosen for best.pt, not for last.pt


def test_the_evaluate_tab_exports_the_run_as_one_zip_with_its_threshold(ws, trained):
    """The app's export (Evaluate tab): the files `export-model` writes, in one download, the threshold chosen in
    the operating-point panel in its card; no run picked is refused with a message."""
    from gradio_client import Client

    with served(trained["store"]) as url:
        client = Client(url, verbose=False)
        client.predict("faces-lite0", "fpr=0.1", api_name="/choose_threshold")
        status, file = client.predict("faces-lite0", "onnx", api_name="/export_model")
        with pytest.raises(Exception, match="Pick a run first"):
            client.predict("", "onnx", api_name="/export_model")
    chosen = ws.run("faces-lite0").threshold
    assert "exported as onnx" in status and "PyTorch" in status and f"P ≥ {chosen.threshold:.3f} (fpr=0.1" in status
    with zipfile.ZipFile(file) as z:
        assert sorted(z.namelist()) == ["model.onnx", "model_card.json", "predict_onnx.py"]
        card = json.loads(z.read("model_card.json"))
    assert card["threshold"]["rule"] == "fpr=0.1" and card["threshold"]["threshold"] == pytest.approx(chosen.threshold)


STANDALONE = r"""
import csv, io, runpy, sys
sys.argv = ["predict_onnx.py", *sys.argv[1:]]
out = io.StringIO()
stdout, sys.stdout = sys.stdout, out
try:
    runpy.run_path(sys.argv.pop(1), run_name="__main__")
except SystemExit as e:
    assert not e.code, e.code
sys.stdout = stdout
assert "workbench" not in sys.modules and "torch" not in sys.modules, "the standalone script imported workbench/torch"
print(out.getvalue(), end="")
"""


@pytest.mark.slow
def test_onnx_runs_without_workbench(ws, trained, tmp_path):
    export = trained["exports"][("faces-lite0", "onnx")]
    photos = real_images(trained["store"], "faces", 6)
    for name, img in (("astronaut.jpg", skimage.data.astronaut()), ("chelsea.png", skimage.data.chelsea())):
        Image.fromarray(img).save(tmp_path / name)  # RGB photos: the script must convert them as training did
        photos.append(str(tmp_path / name))
    want = predict(load_run(ws.run("faces-lite0"), device="cpu"), photos)
    card = json.loads(export.card_file.read_text())
    classes = card["classes"]
    # the card beside the script decides by its threshold when it carries one (the app's export in this module
    # writes the same folder after choosing one), else by argmax
    t = card["threshold"]
    beside = want[:, t["positive_index"]] >= t["threshold"] if t else want.argmax(1)
    # the same card without a threshold (argmax), and with one on P(not face) only the top photo reaches
    cut = float(want[:, 1].max())
    assert ((want[:, 1] >= cut) != want.argmax(1)).any()
    (tmp_path / "argmax.json").write_text(json.dumps({**card, "threshold": None}))
    (tmp_path / "card.json").write_text(json.dumps({**card, "threshold": {"threshold": cut, "positive_index": 1}}))
    script = export.model_file.parent / "predict_onnx.py"
    for card_args, decided in (([], beside), (["--card", str(tmp_path / "argmax.json")], want.argmax(1)),
                               (["--card", str(tmp_path / "card.json")], want[:, 1] >= cut)):
        done = subprocess.run([sys.executable, "-I", "-c", STANDALONE, str(script), *photos, *card_args],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        rows = list(csv.DictReader(io.StringIO(done.stdout)))
        got = np.array([[float(r[f"p_{c}"]) for c in classes] for r in rows])
        assert [r["file"] for r in rows] == photos
        assert np.abs(got - want).max() <= TOL
        assert [r["predicted"] for r in rows] == [classes[int(k)] for k in decided]


def test_bad_input_is_refused_with_a_clear_message(ws, trained, tmp_path, capsys):
    with pytest.raises(WorkbenchError, match="No run named 'nope'"):
        export_model(ws.run("nope"), "onnx")
    with pytest.raises(WorkbenchError, match="Unknown export format 'tflite'.*onnx, torchscript"):
        export_model(ws.run("faces-lite0"), "tflite")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(WorkbenchError, match="is a file"):
        export_model(ws.run("faces-lite0"), "onnx", tmp_path / "file.txt")
    assert cli(["export-model", "nope", "--format", "onnx"]) == 2
    assert "No run named 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["export-model", "faces-lite0", "--format", "tflite"])
    assert "invalid choice: 'tflite'" in capsys.readouterr().err


def test_cli_writes_model_card_and_script(trained, tmp_path, capsys):
    assert cli(["export-model", "digits-r18", "--format", "torchscript", "--out", str(tmp_path / "ts")]) == 0
    assert "max |torchscript - PyTorch|" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "ts").iterdir()) == ["model.torchscript.pt", "model_card.json"]
    onnx_dir = trained["exports"][("digits-r18", "onnx")].model_file.parent
    assert onnx_dir == trained["home"] / "checkpoints" / "digits-r18" / "export-onnx"
    assert sorted(p.name for p in onnx_dir.iterdir()) == ["model.onnx", "model_card.json", "predict_onnx.py"]
