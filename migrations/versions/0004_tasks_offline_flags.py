"""task center, offline events, member flags

Revision ID: 0004_tasks_offline_flags
Revises: 0003_earning
Create Date: 2026-11-22 14:25:30.466876

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_tasks_offline_flags'
down_revision = '0003_earning'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('offline_events',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('location', sa.String(length=128), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('reward_points', sa.Integer(), nullable=False),
    sa.Column('reward_growth', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_offline_events_window_valid')),
    sa.CheckConstraint('reward_points >= 0 AND reward_growth >= 0', name=op.f('ck_offline_events_rewards_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offline_events')),
    sa.UniqueConstraint('code', name=op.f('uq_offline_events_code'))
    )
    op.create_table('task_definitions',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.Column('reward_points', sa.Integer(), nullable=False),
    sa.Column('reward_growth', sa.Integer(), nullable=False),
    sa.Column('link', sa.String(length=128), nullable=True),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('once', 'daily', 'weekly')", name=op.f('ck_task_definitions_kind_known')),
    sa.CheckConstraint('target >= 1 AND reward_points >= 0 AND reward_growth >= 0', name=op.f('ck_task_definitions_values_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_definitions')),
    sa.UniqueConstraint('code', name=op.f('uq_task_definitions_code'))
    )
    op.create_table('member_flags',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.BigInteger(), nullable=True),
    sa.Column('resolution', sa.String(length=256), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_flags_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_flags'))
    )
    with op.batch_alter_table('member_flags', schema=None) as batch_op:
        batch_op.create_index('uq_member_flags_open', ['member_id', 'kind'], unique=True, postgresql_where=sa.text('resolved_at IS NULL'))

    op.create_table('task_claims',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('growth', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_task_claims_member_id_members')),
    sa.ForeignKeyConstraint(['task_id'], ['task_definitions.id'], name=op.f('fk_task_claims_task_id_task_definitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_claims')),
    sa.UniqueConstraint('task_id', 'member_id', 'period', name='uq_task_claims_once_per_period')
    )
    with op.batch_alter_table('earning_events', schema=None) as batch_op:
        batch_op.create_index('ix_earning_events_member_type_time', ['member_id', 'event_type', 'occurred_at'], unique=False)



def downgrade():
    with op.batch_alter_table('earning_events', schema=None) as batch_op:
        batch_op.drop_index('ix_earning_events_member_type_time')

    op.drop_table('task_claims')
    with op.batch_alter_table('member_flags', schema=None) as batch_op:
        batch_op.drop_index('uq_member_flags_open', postgresql_where=sa.text('resolved_at IS NULL'))

    op.drop_table('member_flags')
    op.drop_table('task_definitions')
    op.drop_table('offline_events')
