"""Boxes: a dataset's task, box classes, boxes with an append-only history of versions, and which annotator boxed
which image.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ref(name: str, target: str) -> sa.Column:
    return sa.Column(name, sa.Integer, sa.ForeignKey(target, ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    # plain ADD COLUMN (no table copy): every existing set was a classification set
    op.add_column("datasets", sa.Column("task", sa.Text, nullable=False, server_default=sa.text("'classification'")))
    op.create_table("box_classes", sa.Column("id", sa.Integer, primary_key=True), _ref("dataset_id", "datasets.id"),
                    sa.Column("name", sa.Text, nullable=False), sa.Column("position", sa.Integer, nullable=False),
                    sa.UniqueConstraint("dataset_id", "name"))
    op.create_table("boxes", sa.Column("id", sa.Integer, primary_key=True), _ref("image_id", "images.id"),
                    sa.Column("annotator", sa.Text, nullable=False), sa.Column("source", sa.Text, nullable=False),
                    sa.Column("confidence", sa.Float), sa.Column("created_at", sa.Float, nullable=False))
    op.create_index("boxes_image", "boxes", ["image_id", "annotator"])
    op.create_table("box_versions", sa.Column("id", sa.Integer, primary_key=True), _ref("box_id", "boxes.id"),
                    _ref("class_id", "box_classes.id"),
                    *[sa.Column(c, sa.Float, nullable=False) for c in ("x", "y", "w", "h")],
                    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.text("false")),
                    sa.Column("created_at", sa.Float, nullable=False))
    op.create_index("box_versions_box", "box_versions", ["box_id", "id"])
    op.create_table("box_images", _ref("image_id", "images.id"), sa.Column("annotator", sa.Text, nullable=False),
                    sa.Column("updated_at", sa.Float, nullable=False), sa.PrimaryKeyConstraint("image_id", "annotator"))


def downgrade() -> None:
    for table in ("box_images", "box_versions", "boxes", "box_classes"):
        op.drop_table(table)
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("task")
