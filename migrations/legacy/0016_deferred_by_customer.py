"""deferred codes: an index by customer, for the new customer's one read (texts/fast_path.py)

Revision ID: 0016_deferred_by_customer
Revises: 0015_owed_referrals
Create Date: 2026-12-05 07:00:00.000000
"""

from alembic import op


revision = '0016_deferred_by_customer'
down_revision = '0015_owed_referrals'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deferred_codes', schema=None) as batch_op:
        batch_op.create_index('ix_deferred_codes_customer_id', ['customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deferred_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_deferred_codes_customer_id')
