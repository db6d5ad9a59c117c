"""WhatsApp: the channel of outbound texts, owed codes and consent; WhatsApp contacts

Revision ID: 0003_whatsapp
Revises: 0002_console_security
Create Date: 2026-12-08 01:40:00.000000
"""

from alembic import op
import sqlalchemy as sa

import selfserve.models


revision = '0003_whatsapp'
down_revision = '0002_console_security'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'whatsapp_contacts',
        sa.Column('person', sa.String(length=16), nullable=False),
        sa.Column('address', sa.String(length=160), nullable=False),
        sa.Column('last_inbound_at', selfserve.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column('opted_out', sa.Boolean(), nullable=False),
        sa.Column('changed_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint('person', name=op.f('pk_whatsapp_contacts')),
    )
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('channel', sa.String(length=16), server_default='sms', nullable=False)
        )
        batch_op.add_column(sa.Column('content_sid', sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column('content_variables', sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column('template_only', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table('deferred_codes', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('channel', sa.String(length=16), server_default='sms', nullable=False)
        )
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('channel', sa.String(length=16), server_default='sms', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_column('channel')
    with op.batch_alter_table('deferred_codes', schema=None) as batch_op:
        batch_op.drop_column('channel')
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('template_only')
        batch_op.drop_column('content_variables')
        batch_op.drop_column('content_sid')
        batch_op.drop_column('channel')
    op.drop_table('whatsapp_contacts')
