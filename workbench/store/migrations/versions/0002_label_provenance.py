"""Label provenance: how each label was made (typed, accepted, page, bulk, imported, review) and its confidence.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no table copy): existing labels become 'typed', which is how they were all made
    op.add_column("labels", sa.Column("source", sa.Text, nullable=False, server_default=sa.text("'typed'")))
    op.add_column("labels", sa.Column("confidence", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("labels") as batch:
        batch.drop_column("confidence")
        batch.drop_column("source")
