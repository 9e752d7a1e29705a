"""Small stems for tiny inputs: every backbone family Workbench offers ends on a map of at least 3×3 at 24 and 28 px,
keeps its pretrained weights, records its stem in the run's config and is rebuilt the same when loaded; feature
extraction on a map under 3×3 is warned about in the CLI and the form."""

from __future__ import annotations

import json

import pytest
import torch

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.train.backbones import build_model
from workbench.train.config import RunConfig
from workbench.train.stems import SMALL_STEMS, family_of, last_map, map_summary, map_warning, resolve_stem

# one backbone per family, and the ones the Experiments form offers
FAMILIES = ["resnet18", "resnet34", "resnet50", "efficientnet_lite0", "efficientnet_b0", "mobilenetv2_100",
            "mobilenetv3_large_100", "convnext_atto"]


@pytest.mark.parametrize("backbone", FAMILIES)
@pytest.mark.parametrize("size", [24, 28])
def test_small_stem_ends_tiny_inputs_on_at_least_3x3_where_the_standard_one_is_under(backbone, size):
    standard = last_map(backbone, "standard", size)
    assert standard is None or min(standard) < 3  # None: too small to run at all (ConvNeXt's stride-4 patchify stem)
    assert resolve_stem(backbone, "auto", size) == "small"
    small = last_map(backbone, "small", size)
    assert small is not None and 3 <= min(small) <= 4, small


def test_the_map_of_a_real_model_is_the_one_measured_on_the_meta_device_and_weights_are_kept():
    torch.manual_seed(0)
    standard = build_model("efficientnet_lite0", 3, "offline")
    small = build_model("efficientnet_lite0", 3, "offline", stem="small")
    ref, got = standard.state_dict(), small.state_dict()
    assert ref.keys() == got.keys()
    assert all(torch.equal(ref[k], got[k]) for k in ref if not k.startswith("classifier"))  # ImageNet weights kept
    with torch.no_grad():
        out = small.eval().forward_features(torch.zeros(2, 3, 28, 28))
    assert tuple(out.shape[-2:]) == last_map("efficientnet_lite0", "small", 28) == (4, 4)
    r18 = build_model("resnet18", 2, "none", stem="small").eval()
    with torch.no_grad():
        assert tuple(r18.forward_features(torch.zeros(1, 3, 24, 24)).shape[-2:]) == (3, 3)


def test_auto_keeps_the_standard_stem_where_its_map_is_large_enough():
    assert resolve_stem("resnet18", "auto", 96) == "standard" and last_map("resnet18", "standard", 96) == (3, 3)
    assert resolve_stem("resnet18", "standard", 24) == "standard"
    assert resolve_stem("resnet18", "small", 224) == "small"


def test_a_backbone_without_a_small_stem_is_refused_by_name_and_auto_keeps_it_standard():
    assert family_of("regnetx_002") not in SMALL_STEMS
    with pytest.raises(WorkbenchError, match=r"No small stem for regnetx_002 \(RegNet\).*ResNet.*--stem standard"):
        resolve_stem("regnetx_002", "small", 28)
    assert resolve_stem("regnetx_002", "auto", 28) == "standard"
    with pytest.raises(WorkbenchError, match="Unknown stem 'tiny'"):
        resolve_stem("resnet18", "tiny", 28)


def test_feature_extraction_on_a_map_under_3x3_is_warned_about():
    fe = RunConfig(dataset="d", method="feature_extract", input_size=28, stem="standard")
    warning = map_warning(fe)
    assert "1×1 last feature map (efficientnet_lite0, standard stem, 28 px)" in warning and "stem small" in warning
    assert map_warning(RunConfig(dataset="d", method="feature_extract", input_size=28)) is None  # auto: small, 4×4
    assert map_warning(RunConfig(dataset="d", method="finetune", input_size=28, stem="standard")) is None
    odd = map_warning(RunConfig(dataset="d", method="feature_extract", backbone="regnetx_002", input_size=28))
    assert "1×1" in odd and "stem small" not in odd and "larger input size" in odd  # no small stem to offer
    assert map_summary(fe).startswith("Last feature map 1×1 at 28 px: efficientnet_lite0, standard stem.\n\n⚠️ ")
    assert map_summary(RunConfig(dataset="d", input_size=28)) == \
        "Last feature map 4×4 at 28 px: efficientnet_lite0, small stem (chosen by auto)."


def test_cli_warns_before_training_feature_extraction_on_a_1x1_map(faces_labelled, capsys):
    main(["train", "faces", "--method", "feature_extract", "--input-size", "24", "--stem", "standard", "--epochs", "1",
          "--name", "fe-1x1"])
    assert "warning: Feature extraction on a 1×1 last feature map" in capsys.readouterr().err
    main(["train", "faces", "--method", "feature_extract", "--input-size", "24", "--epochs", "1", "--name", "fe-auto"])
    assert "warning" not in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_records_its_resolved_stem_and_loads_as_it_was_trained(ws, faces_labelled):
    from workbench.evaluate.evaluate import evaluate_run
    from workbench.explain.cam import run_layer
    from workbench.train.loop import train
    from workbench.train.runs import load_run

    cfg = RunConfig(dataset="faces", method="finetune", backbone="resnet18", weights="none", input_size=24, epochs=1,
                    batch_size=32, name="r18-small")
    assert train(ws, cfg, plots=False).status == "completed"
    run = ws.run("r18-small")
    assert json.loads((run.folder / "config.json").read_text())["stem"] == "small" == run.config.stem
    loaded = load_run(run)
    assert isinstance(loaded.model.maxpool, torch.nn.Identity) and loaded.model.conv1.stride == (1, 1)
    used = run_layer(loaded)  # Grad-CAM keeps the architecture's own layer: 3x3 at 24 px now
    assert used.name == "layer4.1" and used.map_hw == (3, 3) and not used.note
    val = run.history[run.history.split == "val"]
    assert evaluate_run(run, split="val").metrics["loss"] == pytest.approx(val["loss"].iloc[-1], rel=1e-5)

    # a run saved before stems existed has no "stem": it was built, and is loaded, with the standard stem
    old = json.loads((run.folder / "config.json").read_text())
    del old["stem"]
    (run.folder / "config.json").write_text(json.dumps(old))
    assert ws.run("r18-small").config.stem == "standard"
    assert load_run(ws.run("r18-small")).model.conv1.stride == (2, 2)


def test_the_experiments_form_says_the_map_size_and_warns_under_3x3():
    from workbench.ui.experiments_tab import MAP_INPUTS, map_note

    assert set(MAP_INPUTS) == {"method", "backbone", "input_size", "stem"}  # each change redraws the note
    warned = map_note("feature_extract", "efficientnet_lite0", 28, "standard")
    assert warned.startswith("Last feature map 1×1 at 28 px") and "⚠️ Feature extraction on a 1×1" in warned
    assert map_note("feature_extract", "efficientnet_lite0", 28, "auto") == \
        "Last feature map 4×4 at 28 px: efficientnet_lite0, small stem (chosen by auto)."
    assert "No small stem for regnetx_002" in map_note("finetune", "regnetx_002", 28, "small")
    assert map_note("finetune", "efficientnet_lite0", None, "auto") == ""  # no size typed yet


def test_the_comparison_and_the_report_warn_of_the_map_the_run_was_built_with():
    """At 32 px "auto" builds EfficientNet-Lite0 with its small stem (a 4×4 last map): the comparison and the report
    warned of a 1×1 map there (they measured the standard stem), against the Experiments tab's "4×4"."""
    from types import SimpleNamespace

    from workbench.report import document as doc
    from workbench.report.methods import check_feature_maps
    from workbench.train.compare import map_warnings

    def run(stem):
        return SimpleNamespace(config=RunConfig("d", method="feature_extract", input_size=32, stem=stem))

    assert map_warnings([run("auto")]) == [] and map_warnings([run("small")]) == []
    assert "1×1 last feature map" in map_warnings([run("standard")])[0]
    section = doc.Section("methods", "Methods")
    check_feature_maps(section, [run("auto"), run("standard")])
    assert [(c.level, c.text.split(":")[0]) for c in section.checks] == [
        ("pass", "feature extraction on a 4×4 map (efficientnet_lite0 at 32 px)"),
        ("warn", "feature extraction on a 1×1 map (efficientnet_lite0 at 32 px)")]
