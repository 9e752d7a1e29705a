"""RunConfig's settings drive the CLI options and the Experiments form; the training methods' registry."""

from __future__ import annotations

import argparse
import inspect
from dataclasses import fields

import gradio as gr
import pytest

from workbench.cli import train_cmd
from workbench.errors import WorkbenchError
from workbench.train import methods
from workbench.train.config import METHODS, PARTS, Augment, Detect, RunConfig, config_from, settings
from workbench.ui import experiments_tab as tab


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    train_cmd.add_run_options(p)
    return p


def test_every_field_a_user_sets_is_a_setting():
    names = [s.name for s in settings()]
    assert len(names) == len(set(names))
    parts = {f.name for part in PARTS.values() for f in fields(part)}
    assert set(PARTS) == {"augment", "detect"} and {"detector", "image_size"} <= parts
    assert set(names) == {f.name for f in fields(RunConfig)} - set(PARTS) | parts
    assert all(s.help and s.label for s in settings())


def test_cli_options_come_from_the_settings():
    p = _parser()
    defaults = p.parse_args(["faces"])
    for s in settings():
        assert getattr(defaults, s.name) == (s.default if s.name != "dataset" else "faces"), s.name
    assert train_cmd.config_from_args(defaults).to_dict() | {"name": ""} == RunConfig("faces").to_dict() | {"name": ""}
    a = p.parse_args(["faces", "--group", "face=a, not face=b", "--no-flip", "--crop-scale", "0.5", "--input-size", "32",
                      "--head-lr-scale", "3", "--name", "r1", "--method", "finetune", "--no-normalize"])
    cfg = train_cmd.config_from_args(a)
    assert cfg == RunConfig("faces", method="finetune", grouping={"face": "a", "not face": "b"}, input_size=32,
                            head_lr_scale=3.0, name="r1",
                            augment=Augment(flip=False, crop_scale=0.5, normalize=False))
    with pytest.raises(SystemExit):
        p.parse_args(["faces", "--optimizer", "lion"])  # choices come from the setting
    helps = {a.dest: a.help for a in p._actions}
    assert all(s.help in helps[s.name] for s in settings())


def test_form_values_make_the_config_and_bad_ones_say_which():
    cfg = config_from({"dataset": "faces", "backbone": " resnet18 ", "epochs": 3.0, "grouping": "", "flip": False})
    assert cfg.backbone == "resnet18" and cfg.epochs == 3 and isinstance(cfg.epochs, int)
    assert cfg.grouping is None and cfg.augment == Augment(flip=False)
    cfg = config_from({"dataset": "scenes", "task": "detection", "detector": "retinanet", "image_size": 256.0})
    assert cfg.task == "detection" and cfg.detect == Detect("retinanet", 256) and cfg.validate()
    with pytest.raises(WorkbenchError, match="Unknown detector 'yolo'; choose one of fcos, retinanet, fasterrcnn"):
        RunConfig("scenes", detect=Detect("yolo")).validate()
    with pytest.raises(WorkbenchError, match="Unknown task 'segmentation'"):
        RunConfig("scenes", task="segmentation").validate()
    with pytest.raises(WorkbenchError, match="Epochs: give a value"):
        config_from({"dataset": "faces", "epochs": None})
    with pytest.raises(WorkbenchError, match="not 'class=group'"):
        config_from({"dataset": "faces", "grouping": "face person"})


def test_experiments_form_shows_every_form_setting_with_its_label_help_and_default():
    shown = [name for row in tab.FORM_ROWS for name in row]
    assert sorted(shown) == sorted(s.name for s in settings() if s.form)
    with gr.Blocks():
        for s in settings():
            if s.form and s.name != "dataset":
                c = tab.setting_input(s, **tab.LOOK.get(s.name, {}))
                assert (c.label, c.info, c.value) == (s.label, s.help, s.default), s.name
                if s.choices:
                    assert [v for _, v in c.choices] == list(s.choices)


def test_methods_registry_matches_the_config_and_the_protocol():
    assert set(methods.METHODS) == set(METHODS)
    wanted = {"parameters", "lr_scale", "snapshot", "train_epoch", "predict"}
    for cls in methods.METHODS.values():
        assert wanted <= {n for n, _ in inspect.getmembers(cls, inspect.isfunction)}, cls
