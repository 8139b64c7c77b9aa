"""levels and rights

Revision ID: 0005_levels
Revises: 0004_tasks_offline_flags
Create Date: 2026-11-22 14:34:51.684262

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0005_levels'
down_revision = '0004_tasks_offline_flags'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('level_definitions',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.BigInteger(), nullable=False),
    sa.Column('condition', sa.String(length=16), nullable=False),
    sa.Column('validity_months', sa.Integer(), nullable=True),
    sa.Column('expiry_action', sa.String(length=20), nullable=False),
    sa.Column('action_percent', sa.Integer(), nullable=False),
    sa.Column('action_numerator', sa.Integer(), nullable=False),
    sa.Column('action_denominator', sa.Integer(), nullable=False),
    sa.Column('earn_multiplier_pct', sa.Integer(), nullable=False),
    sa.Column('birthday_points', sa.Integer(), nullable=False),
    sa.Column('birthday_item_sku', sa.String(length=48), nullable=True),
    sa.Column('member_day_multiplier_pct', sa.Integer(), nullable=False),
    sa.Column('discount_pct', sa.Integer(), nullable=False),
    sa.Column('service_rights', postgresql.ARRAY(sa.String(length=64)), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("condition IN ('growth', 'first_purchase')", name=op.f('ck_level_definitions_condition_known')),
    sa.CheckConstraint("expiry_action IN ('keep_if_qualified', 'reset', 'discount', 'deduct')", name=op.f('ck_level_definitions_action_known')),
    sa.CheckConstraint('action_percent BETWEEN 0 AND 100 AND action_denominator > 0 AND action_numerator BETWEEN 0 AND action_denominator', name=op.f('ck_level_definitions_action_fraction_valid')),
    sa.CheckConstraint('earn_multiplier_pct BETWEEN 100 AND 1000 AND member_day_multiplier_pct BETWEEN 100 AND 1000 AND discount_pct BETWEEN 1 AND 100 AND birthday_points >= 0', name=op.f('ck_level_definitions_rights_valid')),
    sa.CheckConstraint('threshold >= 0 AND (validity_months IS NULL OR validity_months > 0)', name=op.f('ck_level_definitions_values_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_level_definitions')),
    sa.UniqueConstraint('code', name=op.f('uq_level_definitions_code')),
    sa.UniqueConstraint('rank', name=op.f('uq_level_definitions_rank'))
    )
    op.create_table('level_changes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('from_code', sa.String(length=32), nullable=True),
    sa.Column('to_code', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_level_changes_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_level_changes'))
    )
    with op.batch_alter_table('level_changes', schema=None) as batch_op:
        batch_op.create_index('ix_level_changes_member', ['member_id', 'id'], unique=False)

    op.create_table('level_notices',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('level_code', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=40), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('level_up', 'level_down', 'level_renewed', 'level_expiring_30', 'level_expiring_7')", name=op.f('ck_level_notices_kind_known')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_level_notices_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_level_notices')),
    sa.UniqueConstraint('member_id', 'kind', 'ref', name='uq_level_notices_once')
    )
    with op.batch_alter_table('level_notices', schema=None) as batch_op:
        batch_op.create_index('ix_level_notices_unsent', ['created_at'], unique=False)

    op.create_table('member_levels',
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('level_code', sa.String(length=32), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_levels_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_levels'))
    )
    with op.batch_alter_table('member_levels', schema=None) as batch_op:
        batch_op.create_index('ix_member_levels_expires_at', ['expires_at'], unique=False)

    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.add_column(sa.Column('downgrade_on_growth_reversal', sa.Boolean(), server_default='true', nullable=False))



def downgrade():
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.drop_column('downgrade_on_growth_reversal')

    with op.batch_alter_table('member_levels', schema=None) as batch_op:
        batch_op.drop_index('ix_member_levels_expires_at')

    op.drop_table('member_levels')
    with op.batch_alter_table('level_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_level_notices_unsent')

    op.drop_table('level_notices')
    with op.batch_alter_table('level_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_level_changes_member')

    op.drop_table('level_changes')
    op.drop_table('level_definitions')
