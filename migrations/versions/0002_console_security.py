"""console security: user roles and session generations, invitations, the audit trail

Users that exist before this revision become owners (the column's server default), so
nobody loses access on upgrade.

Revision ID: 0002_console_security
Revises: 0001_baseline
Create Date: 2026-12-08 02:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import selfserve.models


revision = '0002_console_security'
down_revision = '0001_baseline'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('role', sa.String(length=16), server_default='owner', nullable=False)
        )
        batch_op.add_column(
            sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False)
        )
    op.create_table(
        'console_invites',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('invited_by', sa.String(length=254), nullable=False),
        sa.Column('created_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('used_at', selfserve.models.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_invites')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_console_invites_token_hash')),
    )
    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=254), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('target', sa.String(length=254), nullable=False),
        sa.Column('outcome', sa.String(length=32), nullable=False),
        sa.Column('changes', sa.Text(), nullable=False),
        sa.Column('previous_hash', sa.String(length=64), nullable=False),
        sa.Column('row_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_events_actor', ['actor'], unique=False)
        batch_op.create_index('ix_audit_events_action', ['action'], unique=False)
    op.create_table(
        'audit_anchors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pruned_through_id', sa.Integer(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.Column('pruned_at', selfserve.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_anchors')),
    )


def downgrade() -> None:
    op.drop_table('audit_anchors')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_action')
        batch_op.drop_index('ix_audit_events_actor')
        batch_op.drop_index('ix_audit_events_at')
    op.drop_table('audit_events')
    op.drop_table('console_invites')
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
        batch_op.drop_column('is_active')
        batch_op.drop_column('role')
