"""forgiving keywords: inbound_messages.matched_by and texted, number_languages

Revision ID: 0013_keywords
Revises: 0010_abuse
Create Date: 2026-11-24 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import selfserve.models


revision = '0013_keywords'
down_revision = '0010_abuse'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'number_languages',
        sa.Column('phone_e164', sa.String(length=16), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('changed_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('phone_e164', name=op.f('pk_number_languages')),
    )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('matched_by', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('texted', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('texted')
        batch_op.drop_column('matched_by')
    op.drop_table('number_languages')
