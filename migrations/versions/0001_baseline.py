"""baseline: the whole schema as the sixteen pre-1.0 revisions left it (at 0016_deferred_by_customer)

Revision ID: 0001_baseline
Revises:

Tables in their final shape, columns in the old chain's order (tests/test_migration_baseline.py
compares both schemas on SQLite and PostgreSQL). `db upgrade` carries a database stamped with
an old revision here (selfserve/ops/migrate.py; the old chain is in migrations/legacy/).
"""

from alembic import op
import sqlalchemy as sa
import selfserve.models


revision = '0001_baseline'
down_revision = None
branch_labels = None
depends_on = None


def _utc() -> selfserve.models.UtcDateTime:
    return selfserve.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    for create in (_core_tables, _coupons_opt_outs_and_keywords, _console_consent_and_landing,
                   _deferred_codes_and_journeys, _birthdays, _competitions_and_loyalty,
                   _loyalty_and_winners, _referrals_and_data_rights, _abuse_languages_and_warm_ups):
        create()


def _core_tables() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('slug', name=op.f('uq_campaigns_slug'))
    )
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('customer_id', name=op.f('uq_customers_customer_id')),
    sa.UniqueConstraint('phone_e164', name=op.f('uq_customers_phone_e164'))
    )
    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('received_at', _utc(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('phone_masked', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=True),
    sa.Column('to_number', sa.String(length=32), nullable=True),
    sa.Column('keyword', sa.String(length=64), nullable=True),
    sa.Column('campaign_slug', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('matched_by', sa.String(length=16), nullable=True),
    sa.Column('texted', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('message_sid', name=op.f('uq_inbound_messages_message_sid'))
    )
    op.create_index(op.f('ix_inbound_messages_campaign_slug'), 'inbound_messages', ['campaign_slug'], unique=False)
    op.create_index(op.f('ix_inbound_messages_customer_id'), 'inbound_messages', ['customer_id'], unique=False)
    op.create_index(op.f('ix_inbound_messages_outcome'), 'inbound_messages', ['outcome'], unique=False)
    op.create_index(op.f('ix_inbound_messages_received_at'), 'inbound_messages', ['received_at'], unique=False)


def _coupons_opt_outs_and_keywords() -> None:
    op.create_table('issued_coupons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('identifier', sa.String(length=255), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('code', sa.String(length=128), nullable=False),
    sa.Column('talon_coupon_id', sa.BigInteger(), nullable=True),
    sa.Column('starts_at', _utc(), nullable=True),
    sa.Column('expires_at', _utc(), nullable=True),
    sa.Column('issued_at', _utc(), nullable=False),
    sa.Column('code_token', sa.String(length=16), nullable=True),
    sa.Column('warm', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_coupons')),
    sa.UniqueConstraint('campaign_slug', 'identifier', name=op.f('uq_issued_coupons_campaign_slug')),
    sa.UniqueConstraint('code_token', name='uq_issued_coupons_code_token')
    )
    op.create_index(op.f('ix_issued_coupons_customer_id'), 'issued_coupons', ['customer_id'], unique=False)
    op.create_table('opt_outs',
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('changed_at', _utc(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('phone_e164', name=op.f('pk_opt_outs'))
    )
    _outbound_messages()
    op.create_table('keywords',
    sa.Column('keyword', sa.String(length=64), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_keywords_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('keyword', name=op.f('pk_keywords'))
    )


def _outbound_messages() -> None:
    op.create_table('outbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('to_e164', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('message_sid', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('campaign_slug', sa.String(length=64), nullable=True),
    sa.Column('dedupe_key', sa.String(length=255), nullable=True),
    # The old chain added these to a table with rows, hence the server defaults.
    sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('failures', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('next_attempt_at', _utc(), nullable=True),
    sa.Column('lease_until', _utc(), nullable=True),
    sa.Column('sent_at', _utc(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('media_url', sa.String(length=512), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_messages')),
    sa.UniqueConstraint('message_sid', name=op.f('uq_outbound_messages_message_sid')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbound_messages_dedupe_key'))
    )
    op.create_index(op.f('ix_outbound_messages_created_at'), 'outbound_messages', ['created_at'], unique=False)
    op.create_index('ix_outbound_messages_to_created', 'outbound_messages', ['to_e164', 'created_at'], unique=False)
    op.create_index('ix_outbound_messages_status_next', 'outbound_messages', ['status', 'next_attempt_at'], unique=False)


def _console_consent_and_landing() -> None:
    op.create_table('consent_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', _utc(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('campaign_slug', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('wording', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records'))
    )
    op.create_index('ix_consent_records_phone_recorded', 'consent_records', ['phone_e164', 'recorded_at'], unique=False)
    op.create_table('console_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('last_login_at', _utc(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_users')),
    sa.UniqueConstraint('email', name=op.f('uq_console_users_email'))
    )
    op.create_table('landing_visits',
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_slug', 'source', 'day', name=op.f('pk_landing_visits'))
    )
    op.create_table('phone_verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('expires_at', _utc(), nullable=False),
    sa.Column('verified_at', _utc(), nullable=True),
    sa.Column('wants_offers', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_verifications')),
    sa.UniqueConstraint('token', name=op.f('uq_phone_verifications_token'))
    )
    op.create_index(op.f('ix_phone_verifications_created_at'), 'phone_verifications', ['created_at'], unique=False)
    op.create_index('ix_phone_verifications_phone_campaign', 'phone_verifications', ['phone_e164', 'campaign_slug'], unique=False)


def _deferred_codes_and_journeys() -> None:
    op.create_table('deferred_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('identifier', sa.String(length=255), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('keyword', sa.String(length=64), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', _utc(), nullable=True),
    sa.Column('lease_until', _utc(), nullable=True),
    sa.Column('finished_at', _utc(), nullable=True),
    sa.Column('outbound_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('code_token', sa.String(length=16), nullable=True),
    sa.Column('kind', sa.String(length=16), server_default='coupon', nullable=False),
    sa.Column('referral_code_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deferred_codes')),
    sa.UniqueConstraint('campaign_slug', 'identifier', name=op.f('uq_deferred_codes_campaign_slug')),
    sa.UniqueConstraint('code_token', name='uq_deferred_codes_code_token')
    )
    op.create_index('ix_deferred_codes_state_next', 'deferred_codes', ['state', 'next_attempt_at'], unique=False)
    op.create_index('ix_deferred_codes_customer_id', 'deferred_codes', ['customer_id'], unique=False)


def _birthdays() -> None:
    op.create_table('birthday_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('run_date', sa.Date(), nullable=False),
    sa.Column('started_at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_birthday_runs')),
    sa.UniqueConstraint('campaign_slug', 'run_date', name='uq_birthday_runs_date')
    )
    op.create_table('birthday_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sent_for', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('identifier', sa.String(length=255), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', _utc(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_birthday_sends')),
    sa.UniqueConstraint('campaign_slug', 'customer_id', 'year', name='uq_birthday_sends_year')
    )
    op.create_index('ix_birthday_sends_state_next', 'birthday_sends', ['state', 'next_attempt_at'], unique=False)


def _competitions_and_loyalty() -> None:
    op.create_table('competition_counters',
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('last_entry_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_slug', name=op.f('pk_competition_counters'))
    )
    op.create_table('competition_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('drawn_at', _utc(), nullable=False),
    sa.Column('winners_requested', sa.Integer(), nullable=False),
    sa.Column('entries_count', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('seed', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_draws'))
    )
    op.create_index(op.f('ix_competition_draws_campaign_slug'), 'competition_draws', ['campaign_slug'], unique=False)
    op.create_table('competition_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('entry_number', sa.Integer(), nullable=False),
    sa.Column('entered_at', _utc(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('message_sid', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_entries')),
    sa.UniqueConstraint('campaign_slug', 'customer_id', name='uq_competition_entries_customer'),
    sa.UniqueConstraint('campaign_slug', 'entry_number', name='uq_competition_entries_number')
    )


def _loyalty_and_winners() -> None:
    op.create_table('loyalty_awards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('loyalty_program_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Double(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('claimed_at', _utc(), nullable=False),
    sa.Column('awarded_at', _utc(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loyalty_awards')),
    sa.UniqueConstraint('campaign_slug', 'customer_id', name='uq_loyalty_awards_customer')
    )
    op.create_table('competition_winners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['draw_id'], ['competition_draws.id'], name=op.f('fk_competition_winners_draw_id_competition_draws'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['competition_entries.id'], name=op.f('fk_competition_winners_entry_id_competition_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_winners')),
    sa.UniqueConstraint('draw_id', 'entry_id', name='uq_competition_winners_entry'),
    sa.UniqueConstraint('draw_id', 'position', name='uq_competition_winners_position')
    )
    op.create_index(op.f('ix_competition_winners_entry_id'), 'competition_winners', ['entry_id'], unique=False)


def _referrals_and_data_rights() -> None:
    op.create_table('referral_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('advocate_customer_id', sa.String(length=128), nullable=False),
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=128), nullable=False),
    sa.Column('code_key', sa.String(length=128), nullable=False),
    sa.Column('talon_referral_id', sa.BigInteger(), nullable=True),
    sa.Column('starts_at', _utc(), nullable=True),
    sa.Column('expires_at', _utc(), nullable=True),
    sa.Column('usage_limit', sa.Integer(), nullable=False),
    sa.Column('issued_at', _utc(), nullable=False),
    sa.Column('uses', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_codes')),
    sa.UniqueConstraint('campaign_slug', 'advocate_customer_id', name='uq_referral_codes_advocate'),
    sa.UniqueConstraint('code_key', name=op.f('uq_referral_codes_code_key'))
    )
    op.create_index(op.f('ix_referral_codes_advocate_customer_id'), 'referral_codes', ['advocate_customer_id'], unique=False)
    op.create_table('referral_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_code_id', sa.Integer(), nullable=False),
    sa.Column('friend_customer_id', sa.String(length=128), nullable=False),
    sa.Column('used_at', _utc(), nullable=False),
    sa.Column('points_state', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['referral_code_id'], ['referral_codes.id'], name=op.f('fk_referral_uses_referral_code_id_referral_codes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_uses')),
    sa.UniqueConstraint('referral_code_id', 'friend_customer_id', name='uq_referral_uses_friend')
    )
    op.create_index(op.f('ix_referral_uses_friend_customer_id'), 'referral_uses', ['friend_customer_id'], unique=False)
    op.create_index(op.f('ix_referral_uses_referral_code_id'), 'referral_uses', ['referral_code_id'], unique=False)
    op.create_table('erasure_requests',
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('asked_at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('phone_e164', name=op.f('pk_erasure_requests'))
    )
    op.create_table('erasures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('erased_at', _utc(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('row_counts', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasures'))
    )


def _abuse_languages_and_warm_ups() -> None:
    op.create_table('abuse_counts',
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_slug', 'kind', 'day', name=op.f('pk_abuse_counts'))
    )
    op.create_table('screen_keys',
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('rotated_at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_slug', name=op.f('pk_screen_keys'))
    )
    op.create_table('number_languages',
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('changed_at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('phone_e164', name=op.f('pk_number_languages'))
    )
    op.create_table('warm_ups',
    sa.Column('campaign_slug', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('warmed', sa.Integer(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('budget_share', sa.Double(), nullable=False),
    sa.Column('started_at', _utc(), nullable=False),
    sa.Column('updated_at', _utc(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('campaign_slug', name=op.f('pk_warm_ups'))
    )


def downgrade() -> None:
    for table in (  # children before the tables their foreign keys point at
        'warm_ups', 'number_languages', 'screen_keys', 'abuse_counts', 'erasures',
        'erasure_requests', 'referral_uses', 'referral_codes', 'competition_winners',
        'loyalty_awards', 'competition_entries', 'competition_draws', 'competition_counters',
        'birthday_sends', 'birthday_runs', 'deferred_codes', 'phone_verifications',
        'landing_visits', 'console_users', 'consent_records', 'keywords', 'outbound_messages',
        'opt_outs', 'issued_coupons', 'inbound_messages', 'customers', 'campaigns',
    ):
        op.drop_table(table)  # its indexes go with it
