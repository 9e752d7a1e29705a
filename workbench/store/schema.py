"""Tables of the label store (SQLAlchemy Core, one definition for SQLite and PostgreSQL).

Labels keep their history; the latest row per annotator wins. The migrations in
workbench/store/migrations/ build exactly these tables (a test compares them).
"""

from sqlalchemy import (CheckConstraint, Column, Float, ForeignKey, Index, Integer, MetaData, PrimaryKeyConstraint,
                        Table, Text, UniqueConstraint, text)

DEFAULT_TAGS = ("glasses", "dark", "odd angle", "inverted", "other")

# How a label was made (provenance): typed key, accepted suggestion, accepted page, bulk edit, import, review.
LABEL_SOURCES = ("typed", "accepted", "page", "bulk", "imported", "review")

metadata = MetaData()


def _ref(target: str) -> ForeignKey:
    return ForeignKey(target, ondelete="CASCADE")


datasets = Table(
    "datasets", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("source", Text),  # what it was imported from
    Column("created_at", Float, nullable=False),
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
