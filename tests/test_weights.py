"""Weights sources: the offline EfficientNet-Lite0 mapping is right, local files load or are refused clearly."""

import os
from pathlib import Path

import pytest
import torch
from PIL import Image
from skimage import data as skdata

from workbench.errors import WorkbenchError
from workbench.train import data as D
from workbench.train.backbones import build_model
from workbench.train.weights import atomic_save, offline_lite0_state_dict, read_weights_file

CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO = 967


def _top1(model, img: Image.Image) -> int:
    x = D.to_input(D.image_to_uint8(img, 224, 3)[None])
    with torch.no_grad():
        return int(model.eval()(x).argmax(1))


def test_offline_lite0_mapping_classifies_cat_and_espresso():
    sd = offline_lite0_state_dict()
    assert len(sd) == 247
    model = build_model("efficientnet_lite0", 1000, "offline")
    assert _top1(model, Image.fromarray(skdata.chelsea())) in CAT_CLASSES
    assert _top1(model, Image.fromarray(skdata.coffee())) == ESPRESSO
    # grayscale input goes in as 3 equal channels and still sees a cat
    assert _top1(model, Image.fromarray(skdata.chelsea()).convert("L")) in CAT_CLASSES


def test_offline_weights_keep_features_and_reset_head_for_a_task():
    model = build_model("efficientnet_lite0", 2, "offline")
    assert model.get_classifier().out_features == 2
    assert torch.equal(model.state_dict()["conv_stem.weight"], offline_lite0_state_dict()["conv_stem.weight"])


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_file_loads_backbone_and_new_head(tmp_path, suffix):
    src = build_model("resnet10t", 1000, "none")
    f = tmp_path / f"w{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(f))
    else:
        torch.save({"state_dict": src.state_dict()}, f)
    model = build_model("resnet10t", 3, str(f))
    assert torch.equal(model.state_dict()["conv1.0.weight"], src.state_dict()["conv1.0.weight"])
    assert model.get_classifier().out_features == 3


def test_weights_that_do_not_fit_name_the_keys(tmp_path):
    f = tmp_path / "resnet.pth"
    torch.save(build_model("resnet10t", 10, "none").state_dict(), f)
    with pytest.raises(WorkbenchError) as e:
        build_model("efficientnet_lite0", 2, str(f))
    msg = str(e.value)
    assert "missing" in msg and "conv_stem.weight" in msg
    assert "unexpected" in msg and "conv1.0.weight" in msg

    sd = build_model("resnet10t", 10, "none").state_dict()
    sd["layer1.0.conv1.weight"] = torch.zeros(7, 7, 3, 3)
    torch.save(sd, f)
    with pytest.raises(WorkbenchError, match=r"shape mismatch.*layer1\.0\.conv1\.weight \(7, 7, 3, 3\)"):
        build_model("resnet10t", 2, str(f))


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_checkpoint_with_pickled_code_is_refused_not_run(tmp_path):
    marker = tmp_path / "pwned"
    f = tmp_path / "evil.pth"
    torch.save({"conv1.weight": torch.zeros(1), "x": _Payload(marker)}, f)
    with pytest.raises(WorkbenchError, match="Refusing evil.pth: it holds pickled Python objects"):
        read_weights_file(f)
    with pytest.raises(WorkbenchError, match="Refusing"):
        build_model("resnet10t", 2, str(f))
    assert not marker.exists()


def test_bad_weights_sources_are_explained(tmp_path, monkeypatch):
    with pytest.raises(WorkbenchError, match="Unknown backbone 'resnet19x'.*resnet"):
        build_model("resnet19x", 2, "none")
    with pytest.raises(WorkbenchError, match="Offline weights exist for efficientnet_lite0 only"):
        build_model("resnet18", 2, "offline")
    with pytest.raises(WorkbenchError, match="existing file"):
        build_model("resnet18", 2, str(tmp_path / "nope.pth"))
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(WorkbenchError, match="Cannot read weights file junk.pth"):
        build_model("resnet18", 2, str(tmp_path / "junk.pth"))

    import timm

    def offline(*a, **k):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(WorkbenchError, match="Could not get timm's pretrained weights.*offline"):
        build_model("resnet18", 2, "timm")


def test_atomic_save_keeps_previous_file_when_killed_mid_save(tmp_path, monkeypatch):
    f = tmp_path / "best.pt"
    atomic_save({"w": torch.ones(3)}, f)

    def dies_halfway(obj, fh, *a, **k):
        fh.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({"w": torch.zeros(3)}, f)
    monkeypatch.undo()
    assert torch.equal(torch.load(f, weights_only=True)["w"], torch.ones(3))
    assert [p.name for p in Path(tmp_path).iterdir()] == ["best.pt"]
