"""RunConfig: everything that defines a training run, saved as checkpoints/<run>/config.json."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from workbench.errors import WorkbenchError

METHODS = ("finetune", "feature_extract")
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("cosine", "plateau", "none")
WEIGHT_SOURCES = ("offline", "timm", "none")  # or a path to a .pth / .safetensors file


@dataclass
class Augment:
    """Train-time augmentations (fine-tuning only; feature extraction trains on cached embeddings)."""

    flip: bool = True
    rotation: float = 10.0  # degrees, uniform in [-rotation, rotation]
    crop_scale: float = 0.8  # random resized crop keeps this fraction of the area or more; 1.0 = off
    normalize: bool = True  # ImageNet mean/std, as the pretrained backbones expect

    @property
    def any(self) -> bool:
        return self.flip or self.rotation > 0 or self.crop_scale < 1.0


@dataclass
class RunConfig:
    """One training run. `grouping` maps dataset classes to task classes (e.g. pipes -> tobacco)."""

    dataset: str
    method: str = "feature_extract"
    backbone: str = "efficientnet_lite0"
    weights: str = "offline"
    grouping: dict[str, str] | None = None
    input_size: int = 64
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    augment: Augment = field(default_factory=Augment)
    seed: int = 0  # also the split seed: store.splits(dataset, seed)
    name: str = ""
    device: str = "auto"  # "auto" = CUDA when present

    def __post_init__(self):
        if isinstance(self.augment, dict):
            self.augment = Augment(**self.augment)
        if not self.name:
            self.name = default_name(self)

    def validate(self) -> "RunConfig":
        """Raise WorkbenchError naming the first bad field."""
        if self.method not in METHODS:
            raise WorkbenchError(f"Unknown method {self.method!r}; choose one of {', '.join(METHODS)}.")
        if self.optimizer not in OPTIMIZERS:
            raise WorkbenchError(f"Unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        if self.schedule not in SCHEDULES:
            raise WorkbenchError(f"Unknown LR schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}.")
        for name, lo in (("input_size", 8), ("epochs", 1), ("batch_size", 1)):
            if int(getattr(self, name)) < lo:
                raise WorkbenchError(f"{name} must be at least {lo}, got {getattr(self, name)}.")
        if not self.lr > 0:
            raise WorkbenchError(f"Learning rate must be positive, got {self.lr}.")
        if not 0.05 <= self.augment.crop_scale <= 1.0:
            raise WorkbenchError(f"crop_scale must be in [0.05, 1], got {self.augment.crop_scale}.")
        if not re.fullmatch(r"[A-Za-z0-9._-]+", self.name) or self.name.startswith("."):
            raise WorkbenchError(f"Run name {self.name!r}: use letters, digits, '.', '_' and '-' only.")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: Path) -> "RunConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


def default_name(cfg: RunConfig) -> str:
    """<dataset>-<method>-<backbone>-s<seed>-<time>: unique enough and readable in a run list."""
    short = {"finetune": "ft", "feature_extract": "fe"}.get(cfg.method, cfg.method)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"{int(time.time() * 1000) % 1000:03d}"
    ds = re.sub(r"[^A-Za-z0-9._-]+", "_", cfg.dataset)
    return f"{ds}-{short}-{cfg.backbone}-s{cfg.seed}-{stamp}"


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
    return out
