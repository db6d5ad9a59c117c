"""deferred codes: what is owed (a coupon, an advocate's referral code, a referred friend's coupon)

Revision ID: 0015_owed_referrals
Revises: 0014_referral_uses_counter
Create Date: 2026-12-05 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0015_owed_referrals'
down_revision = '0014_referral_uses_counter'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deferred_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='coupon', nullable=False))
        batch_op.add_column(sa.Column('referral_code_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deferred_codes', schema=None) as batch_op:
        batch_op.drop_column('referral_code_id')
        batch_op.drop_column('kind')
