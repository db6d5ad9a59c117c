"""redemptions: coupon_redemptions, redemption_cursors, first touch on issued_coupons

Revision ID: 0005_redemptions
Revises: 0004_second_factors
Create Date: 2026-12-08 02:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import selfserve.models


revision = '0005_redemptions'
down_revision = '0004_second_factors'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coupon_redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issued_coupon_id', sa.Integer(), nullable=False),
    sa.Column('session_integration_id', sa.String(length=255), nullable=False),
    sa.Column('redeemed_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('rolled_back_at', selfserve.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('total_revenue', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('talon_campaign_id', sa.Integer(), nullable=True),
    sa.Column('event_type', sa.String(length=64), nullable=True),
    sa.Column('store_integration_id', sa.String(length=255), nullable=True),
    sa.Column('synced_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_redemptions')),
    sa.UniqueConstraint('issued_coupon_id', 'session_integration_id', name=op.f('uq_coupon_redemptions_issued_coupon_id'))
    )
    with op.batch_alter_table('coupon_redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_coupon_redemptions_redeemed_at', ['redeemed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_coupon_redemptions_issued_coupon_id'), ['issued_coupon_id'], unique=False)

    op.create_table('redemption_cursors',
    sa.Column('application_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('talon_campaign_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('read_until', selfserve.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('first_read_from', selfserve.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('synced_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('application_id', 'talon_campaign_id', name=op.f('pk_redemption_cursors'))
    )
    with op.batch_alter_table('issued_coupons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('keyword', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_issued_coupons_code', ['code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('issued_coupons', schema=None) as batch_op:
        batch_op.drop_index('ix_issued_coupons_code')
        batch_op.drop_column('source')
        batch_op.drop_column('keyword')
        batch_op.drop_column('channel')

    op.drop_table('redemption_cursors')
    with op.batch_alter_table('coupon_redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coupon_redemptions_issued_coupon_id'))
        batch_op.drop_index('ix_coupon_redemptions_redeemed_at')

    op.drop_table('coupon_redemptions')
