"""The store as first released (git c7bd356): datasets, images, classes, labels, tags, image_tags, splits.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True)


def _ref(name: str, target: str) -> sa.Column:
    return sa.Column(name, sa.Integer, sa.ForeignKey(target, ondelete="CASCADE"), nullable=False)


def _named(table: str) -> None:
    """classes and tags: a name and an index within a dataset."""
    op.create_table(table, _id(), _ref("dataset_id", "datasets.id"),
                    sa.Column("name", sa.Text, nullable=False), sa.Column("position", sa.Integer, nullable=False),
                    sa.UniqueConstraint("dataset_id", "name"))


def upgrade() -> None:
    op.create_table("datasets", _id(), sa.Column("name", sa.Text, nullable=False, unique=True),
                    sa.Column("source", sa.Text), sa.Column("created_at", sa.Float, nullable=False))
    op.create_table(
        "images", _id(), _ref("dataset_id", "datasets.id"),
        *[sa.Column(c, sa.Text, nullable=False) for c in ("name", "path")], sa.Column("source", sa.Text),
        sa.Column("sha256", sa.Text, nullable=False),
        *[sa.Column(c, sa.Integer, nullable=False) for c in ("width", "height")],
        sa.Column("mode", sa.Text, nullable=False), sa.Column("position", sa.Integer, nullable=False),
        *[sa.Column(c, sa.Float) for c in ("brightness", "contrast", "blur", "inverted")],
        sa.UniqueConstraint("dataset_id", "name"))
    op.create_index("images_dataset", "images", ["dataset_id", "position"])
    op.create_index("images_sha", "images", ["dataset_id", "sha256"])
    _named("classes")
    op.create_table("labels", _id(), _ref("image_id", "images.id"), _ref("class_id", "classes.id"),
                    sa.Column("annotator", sa.Text, nullable=False), sa.Column("created_at", sa.Float, nullable=False))
    op.create_index("labels_image", "labels", ["image_id", "annotator", "id"])
    op.create_index("labels_annotator", "labels", ["annotator", "id"])
    _named("tags")
    op.create_table("image_tags", _ref("image_id", "images.id"), _ref("tag_id", "tags.id"),
                    sa.Column("annotator", sa.Text, nullable=False), sa.Column("created_at", sa.Float, nullable=False),
                    sa.PrimaryKeyConstraint("image_id", "tag_id", "annotator"))
    op.create_table("splits", _ref("dataset_id", "datasets.id"), sa.Column("seed", sa.Integer, nullable=False),
                    _ref("image_id", "images.id"),
                    sa.Column("split", sa.Text, sa.CheckConstraint("split IN ('train', 'val', 'test')"),
                              nullable=False),
                    sa.PrimaryKeyConstraint("dataset_id", "seed", "image_id"))


def downgrade() -> None:
    for table in ("splits", "image_tags", "tags", "labels", "classes", "images", "datasets"):
        op.drop_table(table)
