"""earning rules, events, campaigns, integrations, check-in

Revision ID: 0003_earning
Revises: 0002_points_ledger
Create Date: 2026-11-22 14:19:29.588774

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0003_earning'
down_revision = '0002_points_ledger'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('grade', sa.String(length=1), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('multiplier_pct', sa.Integer(), nullable=False),
    sa.Column('event_types', postgresql.ARRAY(sa.String(length=32)), nullable=True),
    sa.Column('level_codes', postgresql.ARRAY(sa.String(length=32)), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("grade IN ('S', 'A', 'B')", name=op.f('ck_campaigns_grade_known')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_campaigns_period_valid')),
    sa.CheckConstraint('multiplier_pct BETWEEN 100 AND 1000', name=op.f('ck_campaigns_multiplier_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_campaigns_period', ['starts_at', 'ends_at'], unique=False)

    op.create_table('checkin_settings',
    sa.Column('id', sa.SmallInteger(), nullable=False),
    sa.Column('cycle_rewards', postgresql.ARRAY(sa.Integer()), nullable=False),
    sa.Column('monthly_rewards', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('makeups_per_month', sa.Integer(), nullable=False),
    sa.Column('makeup_cost_points', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_checkin_settings_single_row')),
    sa.CheckConstraint('makeups_per_month >= 0 AND makeup_cost_points >= 0', name=op.f('ck_checkin_settings_makeups_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_settings'))
    )
    op.create_table('earn_rules',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=12), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('growth', sa.Integer(), nullable=False),
    sa.Column('points_per_yuan', sa.Integer(), nullable=False),
    sa.Column('growth_per_yuan', sa.Integer(), nullable=False),
    sa.Column('hold_days', sa.Integer(), nullable=False),
    sa.Column('cap_per_day', sa.Integer(), nullable=True),
    sa.Column('cap_per_week', sa.Integer(), nullable=True),
    sa.Column('cap_per_month', sa.Integer(), nullable=True),
    sa.Column('cap_lifetime', sa.Integer(), nullable=True),
    sa.Column('budget_points', sa.BigInteger(), nullable=True),
    sa.Column('budget_used', sa.BigInteger(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('level_codes', postgresql.ARRAY(sa.String(length=32)), nullable=True),
    sa.Column('apply_level_multiplier', sa.Boolean(), nullable=False),
    sa.Column('apply_campaign_multiplier', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("mode IN ('fixed', 'per_yuan', 'attribute')", name=op.f('ck_earn_rules_mode_known')),
    sa.CheckConstraint('budget_points IS NULL OR budget_used <= budget_points', name=op.f('ck_earn_rules_budget_not_exceeded')),
    sa.CheckConstraint('points >= 0 AND growth >= 0 AND points_per_yuan >= 0 AND growth_per_yuan >= 0 AND hold_days >= 0', name=op.f('ck_earn_rules_amounts_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_earn_rules')),
    sa.UniqueConstraint('code', name=op.f('uq_earn_rules_code'))
    )
    with op.batch_alter_table('earn_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_earn_rules_event_type'), ['event_type'], unique=False)

    op.create_table('integrations',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrations')),
    sa.UniqueConstraint('key_id', name=op.f('uq_integrations_key_id'))
    )
    op.create_table('checkins',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('made_up', sa.Boolean(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('streak >= 1', name=op.f('ck_checkins_streak_positive')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_checkins_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins')),
    sa.UniqueConstraint('member_id', 'day', name='uq_checkins_member_day')
    )
    op.create_table('earning_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('source', sa.String(length=48), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('order_ref', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('growth', sa.BigInteger(), nullable=False),
    sa.Column('outcome', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('awarded', 'rejected', 'reversed')", name=op.f('ck_earning_events_status_known')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_earning_events_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_earning_events')),
    sa.UniqueConstraint('source', 'event_id', name='uq_earning_events_source_event_id')
    )
    with op.batch_alter_table('earning_events', schema=None) as batch_op:
        batch_op.create_index('ix_earning_events_member', ['member_id', 'id'], unique=False)
        batch_op.create_index('ix_earning_events_order', ['event_type', 'order_ref'], unique=False, postgresql_where=sa.text('order_ref IS NOT NULL'))

    op.create_table('rule_awards',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('event_row_id', sa.BigInteger(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('growth', sa.BigInteger(), nullable=False),
    sa.Column('points_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('growth_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_row_id'], ['earning_events.id'], name=op.f('fk_rule_awards_event_row_id_earning_events')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_rule_awards_member_id_members')),
    sa.ForeignKeyConstraint(['rule_id'], ['earn_rules.id'], name=op.f('fk_rule_awards_rule_id_earn_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_awards')),
    sa.UniqueConstraint('event_row_id', 'rule_id', name='uq_rule_awards_event_rule')
    )
    with op.batch_alter_table('rule_awards', schema=None) as batch_op:
        batch_op.create_index('ix_rule_awards_caps', ['rule_id', 'member_id', 'business_date'], unique=False)



def downgrade():
    with op.batch_alter_table('rule_awards', schema=None) as batch_op:
        batch_op.drop_index('ix_rule_awards_caps')

    op.drop_table('rule_awards')
    with op.batch_alter_table('earning_events', schema=None) as batch_op:
        batch_op.drop_index('ix_earning_events_order', postgresql_where=sa.text('order_ref IS NOT NULL'))
        batch_op.drop_index('ix_earning_events_member')

    op.drop_table('earning_events')
    op.drop_table('checkins')
    op.drop_table('integrations')
    with op.batch_alter_table('earn_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_earn_rules_event_type'))

    op.drop_table('earn_rules')
    op.drop_table('checkin_settings')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_campaigns_period')

    op.drop_table('campaigns')
