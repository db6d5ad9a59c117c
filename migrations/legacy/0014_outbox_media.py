"""MMS on outbound texts: outbound_messages.media_url (the barcode PNG Twilio attaches)

Revision ID: 0014_outbox_media
Revises: 0012_warm
Create Date: 2026-12-04 16:40:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0014_outbox_media'
down_revision = '0012_warm'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_url', sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('media_url')
