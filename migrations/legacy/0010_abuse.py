"""abuse resistance: refusals per campaign and day, screen QR key generations

Revision ID: 0010_abuse
Revises: 0011_referrals
Create Date: 2026-12-04 16:00:00
"""

from alembic import op
import sqlalchemy as sa
import selfserve.models


revision = '0010_abuse'
down_revision = '0011_referrals'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'abuse_counts',
        sa.Column('campaign_slug', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('campaign_slug', 'kind', 'day'),
    )
    op.create_table(
        'screen_keys',
        sa.Column('campaign_slug', sa.String(length=64), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('rotated_at', selfserve.models.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('campaign_slug'),
    )


def downgrade() -> None:
    op.drop_table('screen_keys')
    op.drop_table('abuse_counts')
