"""referral codes: a uses counter, so the usage limit holds when friends redeem at once

Revision ID: 0014_referral_uses_counter
Revises: 0014_outbox_media
Create Date: 2026-12-04 16:45:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0014_referral_uses_counter'
down_revision = '0014_outbox_media'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('referral_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uses', sa.Integer(), server_default=sa.text('0'), nullable=False))
    # Codes already shared: their uses so far.
    op.execute(
        'UPDATE referral_codes SET uses = (SELECT count(*) FROM referral_uses'
        ' WHERE referral_uses.referral_code_id = referral_codes.id)'
    )


def downgrade() -> None:
    with op.batch_alter_table('referral_codes', schema=None) as batch_op:
        batch_op.drop_column('uses')
