"""code pages: issued_coupons.code_token and deferred_codes.code_token

Revision ID: 0009_code_pages
Revises: 0008_landing_offers
Create Date: 2026-11-24 09:00:00.000000

The token is a keyed MAC of (campaign, identifier) made with SECRET_KEY, which a migration
cannot see: rows issued before this revision get theirs from `flask --app app db upgrade`
right after the schema change (selfserve/coupons/code_pages.py, fill_missing_tokens).
"""

from alembic import op
import sqlalchemy as sa


revision = '0009_code_pages'
down_revision = '0008_landing_offers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('issued_coupons', 'deferred_codes'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('code_token', sa.String(length=16), nullable=True))
            batch_op.create_unique_constraint(f'uq_{table}_code_token', ['code_token'])


def downgrade() -> None:
    for table in ('deferred_codes', 'issued_coupons'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'uq_{table}_code_token', type_='unique')
            batch_op.drop_column('code_token')
