"""referrals and data rights: referral codes and uses, erasure requests and records

Revision ID: 0011_referrals
Revises: 0009_code_pages
Create Date: 2026-11-24 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import selfserve.models


revision = '0011_referrals'
down_revision = '0009_code_pages'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('referral_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('advocate_customer_id', sa.String(length=128), nullable=False),
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=128), nullable=False),
    sa.Column('code_key', sa.String(length=128), nullable=False),
    sa.Column('talon_referral_id', sa.BigInteger(), nullable=True),
    sa.Column('starts_at', selfserve.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', selfserve.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('usage_limit', sa.Integer(), nullable=False),
    sa.Column('issued_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_codes')),
    sa.UniqueConstraint('campaign_slug', 'advocate_customer_id', name='uq_referral_codes_advocate'),
    sa.UniqueConstraint('code_key', name=op.f('uq_referral_codes_code_key'))
    )
    with op.batch_alter_table('referral_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_codes_advocate_customer_id'), ['advocate_customer_id'], unique=False)

    op.create_table('referral_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_code_id', sa.Integer(), nullable=False),
    sa.Column('friend_customer_id', sa.String(length=128), nullable=False),
    sa.Column('used_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('points_state', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['referral_code_id'], ['referral_codes.id'], name=op.f('fk_referral_uses_referral_code_id_referral_codes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_uses')),
    sa.UniqueConstraint('referral_code_id', 'friend_customer_id', name='uq_referral_uses_friend')
    )
    with op.batch_alter_table('referral_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_uses_friend_customer_id'), ['friend_customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_uses_referral_code_id'), ['referral_code_id'], unique=False)

    op.create_table('erasure_requests',
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('asked_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('phone_e164', name=op.f('pk_erasure_requests'))
    )
    op.create_table('erasures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('erased_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('row_counts', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasures'))
    )


def downgrade() -> None:
    op.drop_table('erasures')
    op.drop_table('erasure_requests')
    with op.batch_alter_table('referral_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_uses_referral_code_id'))
        batch_op.drop_index(batch_op.f('ix_referral_uses_friend_customer_id'))
    op.drop_table('referral_uses')
    with op.batch_alter_table('referral_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_codes_advocate_customer_id'))
    op.drop_table('referral_codes')
