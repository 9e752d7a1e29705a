"""Tables of the label store (SQLAlchemy Core, one definition for SQLite and PostgreSQL).

Labels keep their history; the latest row per annotator wins. The migrations in
workbench/store/migrations/ build exactly these tables (a test compares them).
"""

from sqlalchemy import (Boolean, CheckConstraint, Column, Float, ForeignKey, Index, Integer, MetaData,
                        PrimaryKeyConstraint, Table, Text, UniqueConstraint, text)

DEFAULT_TAGS = ("glasses", "dark", "odd angle", "inverted", "other")

# How a label was made (provenance): typed key, accepted suggestion, accepted page, bulk edit, import, review.
LABEL_SOURCES = ("typed", "accepted", "page", "bulk", "imported", "review")

# How a box was made: drawn by hand, an accepted suggestion, imported from a file, copied from the previous image.
BOX_SOURCES = ("drawn", "accepted", "imported", "copied")

# What a dataset is labelled for: one class per image, boxes, or both (its classes and box classes are separate lists).
TASKS = ("classification", "detection", "both")

metadata = MetaData()


def _ref(target: str) -> ForeignKey:
    return ForeignKey(target, ondelete="CASCADE")


datasets = Table(
    "datasets", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("source", Text),  # what it was imported from
    Column("created_at", Float, nullable=False),
    Column("task", Text, nullable=False, server_default=text("'classification'")),  # one of TASKS
)

images = Table(
    "images", metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, _ref("datasets.id"), nullable=False),
    Column("name", Text, nullable=False),  # file name relative to the imported folder; unique per dataset
    Column("path", Text, nullable=False),  # the file Workbench reads (a converted copy when the original needed it)
    Column("source", Text),  # the original file, when path is a copy
    Column("sha256", Text, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("mode", Text, nullable=False),  # PIL mode of the original
    Column("position", Integer, nullable=False),  # file order at import
    Column("brightness", Float),  # mean intensity, 0..1
    Column("contrast", Float),  # std of intensity, 0..1
    Column("blur", Float),  # variance of the Laplacian (low = blurry)
    Column("inverted", Float),  # -corr(image, dataset mean image): high = looks colour-inverted
    UniqueConstraint("dataset_id", "name"),
    Index("images_dataset", "dataset_id", "position"),
    Index("images_sha", "dataset_id", "sha256"),
)


def _names_table(name: str) -> Table:
    """A dataset's ordered list of unique names (classes, tags): `position` is the order shown and, for classes,
    the index a model predicts."""
    return Table(
        name, metadata,
        Column("id", Integer, primary_key=True),
        Column("dataset_id", Integer, _ref("datasets.id"), nullable=False),
        Column("name", Text, nullable=False),
        Column("position", Integer, nullable=False),
        UniqueConstraint("dataset_id", "name"),
    )


classes = _names_table("classes")

labels = Table(
    "labels", metadata,
    Column("id", Integer, primary_key=True),
    Column("image_id", Integer, _ref("images.id"), nullable=False),
    Column("class_id", Integer, _ref("classes.id"), nullable=False),
    Column("annotator", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("source", Text, nullable=False, server_default=text("'typed'")),  # one of LABEL_SOURCES
    Column("confidence", Float),  # the accepted suggestion's confidence, else NULL
    Index("labels_image", "image_id", "annotator", "id"),
    Index("labels_annotator", "annotator", "id"),
)

tags = _names_table("tags")

image_tags = Table(
    "image_tags", metadata,
    Column("image_id", Integer, _ref("images.id"), nullable=False),
    Column("tag_id", Integer, _ref("tags.id"), nullable=False),
    Column("annotator", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("image_id", "tag_id", "annotator"),
)

splits = Table(
    "splits", metadata,
    Column("dataset_id", Integer, _ref("datasets.id"), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("image_id", Integer, _ref("images.id"), nullable=False),
    Column("split", Text, CheckConstraint("split IN ('train', 'val', 'test')"), nullable=False),
    PrimaryKeyConstraint("dataset_id", "seed", "image_id"),
)

# Boxes: `boxes` holds each box's stable identity (its image, owner and how it was made); `box_versions` its
# append-only history (a move, resize or class change appends a version; a delete appends a tombstone).
box_classes = _names_table("box_classes")

boxes = Table(
    "boxes", metadata,
    Column("id", Integer, primary_key=True),  # the box's stable id
    Column("image_id", Integer, _ref("images.id"), nullable=False),
    Column("annotator", Text, nullable=False),  # the owner: only they change it
    Column("source", Text, nullable=False),  # one of BOX_SOURCES
    Column("confidence", Float),  # the accepted or imported suggestion's score, else NULL
    Column("created_at", Float, nullable=False),
    Index("boxes_image", "image_id", "annotator"),
)

box_versions = Table(
    "box_versions", metadata,
    Column("id", Integer, primary_key=True),  # newest version of a box = its largest id
    Column("box_id", Integer, _ref("boxes.id"), nullable=False),
    Column("class_id", Integer, _ref("box_classes.id"), nullable=False),
    # top-left corner and size in the image's own pixels
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("w", Float, nullable=False),
    Column("h", Float, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),  # a tombstone keeps the last geometry
    Column("created_at", Float, nullable=False),
    Index("box_versions_box", "box_id", "id"),
)

# One row per (image, annotator) whose boxes that annotator has labelled (none is an answer too: "no objects here");
# updated_at moves with every change, and says whose boxes an image shows when several annotators boxed it.
box_images = Table(
    "box_images", metadata,
    Column("image_id", Integer, _ref("images.id"), nullable=False),
    Column("annotator", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
    PrimaryKeyConstraint("image_id", "annotator"),
)
