"""RunConfig: everything that defines a training run, saved as checkpoints/<run>/config.json."""

from __future__ import annotations

import json
import re
import time
import typing
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

from workbench.atomic import write_json
from workbench.errors import WorkbenchError
from workbench.store import checks

METHODS = ("finetune", "feature_extract")
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("cosine", "plateau", "none")
WEIGHT_SOURCES = ("offline", "timm", "none")  # or a path to a .pth / .safetensors file
STEMS = ("auto", "standard", "small")  # auto: small when the standard stem's last feature map is under MIN_MAP
MIN_MAP = 3  # a last feature map under 3x3 pools (and explains) almost no spatial detail
AUGMENTATIONS = ("flip", "rotation", "crop_scale")  # Augment's fields that only fine-tuning uses (no normalize)
TASKS = ("auto", "classification", "detection")  # auto: detection for a set with boxes and no image labels
DETECTORS = ("fcos", "retinanet", "fasterrcnn")  # workbench.detect.model.DETECTORS builds them
BACKBONES = ("efficientnet_lite0", "resnet18", "resnet50", "mobilenetv3_large_100", "mobilenetv2_100",
             "efficientnet_b0", "convnext_atto")  # offered in the form; any timm name works


def parse_grouping(text: str) -> dict[str, str] | None:
    """'cigs=tobacco, pipes=tobacco, other=other' -> {'cigs': 'tobacco', ...}; empty -> None."""
    text = (text or "").strip()
    if not text:
        return None
    out = {}
    for part in re.split(r"[,\n;]+", text):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise WorkbenchError(f"Grouping entry {part!r} is not 'class=group'.")
        k, v = (s.strip() for s in part.split("=", 1))
        if not k or not v:
            raise WorkbenchError(f"Grouping entry {part!r} is not 'class=group'.")
        out[k] = v
    checks.names(out.values(), "group")  # a group is a class of the run: the same names as a dataset's classes
    return out


def parse_split_seed(text: str | int | None) -> int | None:
    """'' or None -> None; '7' -> 7; anything else is refused."""
    if text is None or isinstance(text, int):
        return text
    text = str(text).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise WorkbenchError(f"Split seed {text!r} is not a whole number (leave it blank for the seed's own "
                             "split).") from None


def format_grouping(grouping: Mapping[str, str] | None) -> str:
    """{'cigs': 'tobacco', ...} -> 'cigs=tobacco,...' (what parse_grouping reads); None -> ''."""
    return ",".join(f"{k}={v}" for k, v in (grouping or {}).items())


def setting(default: Any = MISSING, *, help: str, label: str, **meta: Any) -> Any:
    """A RunConfig (or Augment) field that users set: `help` is the CLI help and the form's info line, `label`
    the form's label. `meta`: choices (the only values), suggest (offered values, others allowed), minimum,
    flag (CLI option when not --<name>), text (parser of a typed value), form=False (CLI only)."""
    kw = {} if default is MISSING else {"default": default}
    return field(metadata={"help": help, "label": label, **meta}, **kw)


@dataclass
class Augment:
    """Train-time augmentations (fine-tuning only; feature extraction trains on cached embeddings)."""

    flip: bool = setting(True, label="Random flip", help="random horizontal flip")
    rotation: float = setting(10.0, label="Max rotation (°)",  # degrees, uniform in [-rotation, rotation]
                              help="max rotation in degrees (0: off)")
    crop_scale: float = setting(0.8, label="Random resized crop: min area",  # 1.0 = off
                                help="random resized crop keeps at least this fraction of the area (1: off)")
    normalize: bool = setting(True, label="ImageNet normalisation",  # as the pretrained backbones expect
                              help="ImageNet mean/std normalisation")

    @property
    def any(self) -> bool:
        return self.flip or self.rotation > 0 or self.crop_scale < 1.0


@dataclass
class Detect:
    """Settings of detection runs only (a classification run ignores them)."""

    detector: str = setting("fcos", label="Detector", choices=DETECTORS,
                            help="detection: the torchvision detector on the backbone's feature pyramid")
    image_size: int = setting(320, label="Detection image size (px)", minimum=32,
                              help="detection: images are resized so their longer side is this")


@dataclass
class RunConfig:
    """One training run. `grouping` maps dataset classes to task classes (e.g. pipes -> tobacco).

    Every field a user sets is declared with `setting` (help text, label, choices): the CLI options of
    `workbench train` and the Experiments form are both built from `settings()`.
    """

    dataset: str = setting(label="Dataset", help="dataset name (see `workbench import`)")
    task: str = setting("auto", label="Task", choices=TASKS,
                        help="classification (image labels) or detection (boxes); auto: detection when the set has "
                             "boxes and no image labels")
    method: str = setting("feature_extract", label="Method", choices=METHODS,
                          help="finetune trains the whole network on augmented batches; feature_extract trains "
                               "only the head on the frozen backbone's embeddings")
    backbone: str = setting("efficientnet_lite0", label="Backbone (any timm name)", suggest=BACKBONES,
                            help="any timm model name")
    weights: str = setting("offline", label="Weights (or a file path)", suggest=WEIGHT_SOURCES,
                           help="offline (bundled EfficientNet-Lite0), timm (download), none, or a .pth/.safetensors file")
    grouping: dict[str, str] | None = setting(None, label="Class grouping (optional)", flag="--group",
                                              text=parse_grouping,
                                              help="class grouping, e.g. 'cigs=tobacco,pipes=tobacco,other=other'")
    input_size: int = setting(64, label="Input size (px)", minimum=8, help="images are resized to this square size")
    # saved resolved (standard or small) so that loading the run rebuilds the same model; old runs load as standard
    stem: str = setting("auto", label="Stem", choices=STEMS,
                        help="small removes the backbone's early downsampling (stride-1 stem, no max-pool; pretrained "
                             "weights kept) so tiny inputs end on a last feature map of at least 3x3; auto does so "
                             "when the standard stem's map would be under 3x3 at this input size")
    epochs: int = setting(10, label="Epochs", minimum=1, help="passes over the train split")
    batch_size: int = setting(64, label="Batch size", minimum=1, help="images per optimisation step")
    optimizer: str = setting("adamw", label="Optimizer", choices=OPTIMIZERS, help="the optimizer")
    lr: float = setting(1e-3, label="Learning rate",
                        help="learning rate (feature extraction's head learns at --head-lr-scale times this)")
    # at the shared learning rate the head stayed under-fitted after 10 epochs, below a tuned linear probe on the
    # same embeddings (digits at 32 px: val acc 0.400 vs the probe's 0.415; at 10x 0.422)
    head_lr_scale: float = setting(10.0, label="Head learning rate ×", form=False,
                                   help="feature extraction: the head learns at this times the learning rate, the "
                                        "usual head-vs-backbone ratio")
    weight_decay: float = setting(1e-4, label="Weight decay", form=False, help="the optimizer's weight decay")
    schedule: str = setting("cosine", label="LR schedule", choices=SCHEDULES, help="learning-rate schedule")
    augment: Augment = field(default_factory=Augment)
    detect: Detect = field(default_factory=Detect)
    seed: int = setting(0, label="Seed", help="seed of the initial weights and the batches (and of the split "
                                                "unless --split-seed is given)")
    # None: the seed's own split (what runs saved before split seeds existed mean); resolved in __post_init__, so
    # every config.json records the split its run trained and was tested on
    split_seed: int | None = setting(None, label="Split seed (blank: the seed)", text=parse_split_seed,
                                     help="seed of the train/val/test split (default: --seed); runs with the same "
                                          "split seed share their test images")
    name: str = setting("", label="Run name (optional; a comparison's runs: <name>-ft-s0, ...)",
                        help="run name (default: <dataset>-<method>-<backbone>-s<seed>-<time>)")
    device: str = setting("auto", label="Device", form=False, help="auto (CUDA when present), cpu, cuda, cuda:1 ...")

    def __post_init__(self):
        if isinstance(self.augment, dict):
            self.augment = Augment(**self.augment)
        if self.split_seed is None:
            self.split_seed = self.seed
        if isinstance(self.detect, dict):
            self.detect = Detect(**self.detect)
        if not self.name:
            self.name = default_name(self)

    def validate(self) -> "RunConfig":
        """Raise WorkbenchError naming the first bad field."""
        for value, what, allowed in ((self.task, "task", TASKS), (self.method, "method", METHODS),
                                     (self.optimizer, "optimizer", OPTIMIZERS), (self.schedule, "LR schedule", SCHEDULES),
                                     (self.detect.detector, "detector", DETECTORS), (self.stem, "stem", STEMS)):
            if value not in allowed:
                raise WorkbenchError(f"Unknown {what} {value!r}; choose one of {', '.join(allowed)}.")
        for name, value, lo in (("input_size", self.input_size, 8), ("epochs", self.epochs, 1),
                                ("batch_size", self.batch_size, 1), ("image_size", self.detect.image_size, 32)):
            if int(value) < lo:
                raise WorkbenchError(f"{name} must be at least {lo}, got {value}.")
        if not self.lr > 0:
            raise WorkbenchError(f"Learning rate must be positive, got {self.lr}.")
        if not self.head_lr_scale > 0:
            raise WorkbenchError(f"head_lr_scale must be positive, got {self.head_lr_scale}.")
        if not 0.05 <= self.augment.crop_scale <= 1.0:
            raise WorkbenchError(f"crop_scale must be in [0.05, 1], got {self.augment.crop_scale}.")
        if not re.fullmatch(r"[A-Za-z0-9._-]+", self.name) or self.name.startswith("."):
            raise WorkbenchError(f"Run name {self.name!r}: use letters, digits, '.', '_' and '-' only.")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def flat(self) -> dict[str, str | int | float | bool]:
        """Every field as a flat scalar (augment.flip, detect.detector, ..., the grouping as text): what trackers and
        reports list."""
        out: dict[str, str | int | float | bool] = {}
        for key, value in self.to_dict().items():
            if isinstance(value, dict) and key != "grouping":  # augment, detect: one scalar per setting
                out.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                out[key] = format_grouping(value) if key == "grouping" else value
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        known = {f.name for f in fields(cls)}
        # runs saved before stems existed were built with the backbone's own (standard) stem
        return cls(**{"stem": "standard", **{k: v for k, v in d.items() if k in known}})

    def save(self, path: Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> "RunConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


@dataclass(frozen=True)
class Setting:
    """One user-set field of a run, flattened (Augment's fields too): what the CLI and the form are built from."""

    name: str  # the field's name: the form's key, the CLI's --name-with-dashes (bools: --no-name)
    type: type  # bool, int, float or str (a `text` setting is typed as str and parsed)
    default: Any  # None: required (the dataset)
    help: str
    label: str
    choices: tuple[str, ...] = ()
    suggest: tuple[str, ...] = ()
    minimum: float | None = None
    flag: str | None = None
    text: Callable[[str], Any] | None = None
    form: bool = True
    part: str = ""  # "augment" for Augment's fields, "detect" for Detect's

    @property
    def option(self) -> str | None:
        """The CLI's option (`--input-size`; a boolean on by default: `--no-flip`); None for the positional dataset."""
        if self.default is None:
            return None
        if self.flag:
            return self.flag
        return f"--{'no-' if self.type is bool and self.default else ''}{self.name.replace('_', '-')}"

    def value(self, raw: Any) -> Any:
        """The typed value of what a CLI argument or a form input holds: text trimmed or parsed, numbers cast."""
        if self.text is not None:
            return self.text(raw) if raw is None or isinstance(raw, str) else raw
        if self.type is str:
            return (raw or "").strip()
        if raw is None or raw == "":
            raise WorkbenchError(f"{self.label}: give a value.")
        return self.type(raw)


PARTS = {"augment": Augment, "detect": Detect}  # RunConfig's fields that group settings


def settings() -> list[Setting]:
    """Every user-set field of RunConfig in declaration order, a part's fields (Augment's, Detect's) in its place."""
    out = []
    for f in fields(RunConfig):
        if f.name in PARTS:
            out += [_setting(g, PARTS[f.name], f.name) for g in fields(PARTS[f.name])]
        elif "help" in f.metadata:
            out.append(_setting(f, RunConfig))
    return out


def _setting(f: Field, cls: type, part: str = "") -> Setting:
    meta = dict(f.metadata)
    text = meta.get("text")
    kind = str if text else typing.get_type_hints(cls)[f.name]
    default = "" if text else None if f.default is MISSING else f.default
    return Setting(f.name, kind, default, meta.pop("help"), meta.pop("label"), part=part, **meta)


def command_line(cfg: RunConfig) -> list[str]:
    """The `workbench train` arguments that train this run again: the dataset, then every setting whose value is
    not its default (the run's name always)."""
    args = [cfg.dataset]
    for s in settings():
        value = getattr(getattr(cfg, s.part) if s.part else cfg, s.name)
        if s.name == "grouping":
            value = format_grouping(value)  # compared and written as the CLI reads it
        if s.name == "split_seed" and value == cfg.seed:
            continue  # the seed's own split: what no --split-seed gives
        if s.option is None or (value == s.default and s.name != "name"):
            continue
        if s.type is bool:
            args.append(s.option)  # the flag turns the default around
        else:
            args += [s.option, str(value)]
    return args


def config_from(values: Mapping[str, Any]) -> RunConfig:
    """A RunConfig from flat setting values by name (CLI arguments or form inputs); absent ones keep their defaults.

    Raises WorkbenchError for a bad grouping; call .validate() for the rest."""
    own: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {part: {} for part in PARTS}
    for s in settings():
        if s.name in values:
            (parts[s.part] if s.part else own)[s.name] = s.value(values[s.name])
    return RunConfig(**own, **{part: PARTS[part](**kw) for part, kw in parts.items()})


RANDOM_WEIGHTS = "none"  # the weights source that leaves the backbone randomly initialised


def random_features_caveat(method: str, weights: str, comparing: bool = False) -> str | None:
    """What to know before feature extraction (alone, or as half of a method comparison) runs on a randomly
    initialised backbone (weights "none"): its frozen features are random, so its head learns little. Else None."""
    if (weights or "").strip().lower() != RANDOM_WEIGHTS or not (comparing or method == "feature_extract"):
        return None
    which = "The comparison's feature extraction runs" if comparing else "Feature extraction"
    return (f"{which} on random weights (weights: none): the frozen backbone was never trained, so its embeddings "
            "are random features and the head trained on them (and the linear probe baseline) will do little better "
            "than the majority class. Pick pretrained weights (offline: the bundled ImageNet EfficientNet-Lite0; "
            "timm; or a weights file), or fine-tuning.")


def default_name(cfg: RunConfig) -> str:
    """<dataset>-<method>-<backbone>-s<seed>-<time>: unique enough and readable in a run list."""
    short = cfg.detect.detector if cfg.task == "detection" else {"finetune": "ft", "feature_extract": "fe"}.get(cfg.method, cfg.method)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"{int(time.time() * 1000) % 1000:03d}"
    ds = re.sub(r"[^A-Za-z0-9._-]+", "_", cfg.dataset)
    return f"{ds}-{short}-{cfg.backbone}-s{cfg.seed}-{stamp}"
