"""points ledger, operators, programme

Revision ID: 0002_points_ledger
Revises: 0001_members
Create Date: 2026-11-22 14:06:06.654784

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0002_points_ledger'
down_revision = '0001_members'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('operators',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'operator', 'analyst', 'store_manager')", name=op.f('ck_operators_role_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operators')),
    sa.UniqueConstraint('username', name=op.f('uq_operators_username'))
    )
    op.create_table('programme',
    sa.Column('id', sa.SmallInteger(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('points_name', sa.String(length=16), nullable=False),
    sa.Column('points_per_yuan', sa.Integer(), nullable=False),
    sa.Column('expiry_policy', sa.String(length=16), nullable=False),
    sa.Column('expiry_days', sa.Integer(), nullable=False),
    sa.Column('expiry_years', sa.SmallInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("expiry_policy IN ('never', 'days', 'month_end', 'annual')", name=op.f('ck_programme_expiry_policy_known')),
    sa.CheckConstraint('expiry_days > 0 AND expiry_years >= 0', name=op.f('ck_programme_expiry_lengths_valid')),
    sa.CheckConstraint('id = 1', name=op.f('ck_programme_single_row')),
    sa.CheckConstraint('points_per_yuan > 0', name=op.f('ck_programme_points_per_yuan_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme'))
    )
    op.create_table('ledger_operations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_ledger_operations_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_operations')),
    sa.UniqueConstraint('key', name=op.f('uq_ledger_operations_key'))
    )
    op.create_table('point_accounts',
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('available', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('pending', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('lifetime_earned', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('lifetime_spent', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('expired', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('growth', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('growth_lifetime', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('available >= 0 AND pending >= 0 AND growth >= 0', name=op.f('ck_point_accounts_balances_not_negative')),
    sa.CheckConstraint('lifetime_earned >= 0 AND lifetime_spent >= 0 AND expired >= 0 AND growth_lifetime >= 0', name=op.f('ck_point_accounts_totals_not_negative')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_point_accounts_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_point_accounts'))
    )
    op.create_table('ledger_entries',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('operation_id', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('bucket', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('reason_code', sa.String(length=48), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source_type', sa.String(length=24), nullable=True),
    sa.Column('source_id', sa.String(length=64), nullable=True),
    sa.Column('operator_id', sa.BigInteger(), nullable=True),
    sa.Column('reverses_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('lot_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("bucket IN ('available', 'pending')", name=op.f('ck_ledger_entries_bucket_known')),
    sa.CheckConstraint("currency = 'points' OR bucket = 'available'", name=op.f('ck_ledger_entries_growth_has_no_pending')),
    sa.CheckConstraint("currency IN ('points', 'growth')", name=op.f('ck_ledger_entries_currency_known')),
    sa.CheckConstraint("kind IN ('earn', 'release', 'spend', 'expire', 'adjust', 'penalty', 'reversal')", name=op.f('ck_ledger_entries_kind_known')),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_ledger_entries_amount_not_zero')),
    sa.CheckConstraint('balance_after >= 0', name=op.f('ck_ledger_entries_balance_after_not_negative')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_ledger_entries_member_id_members')),
    sa.ForeignKeyConstraint(['operation_id'], ['ledger_operations.id'], name=op.f('fk_ledger_entries_operation_id_ledger_operations')),
    sa.ForeignKeyConstraint(['reverses_entry_id'], ['ledger_entries.id'], name=op.f('fk_ledger_entries_reverses_entry_id_ledger_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_ledger_entries_member_id_id', ['member_id', 'id'], unique=False)
        batch_op.create_index('ix_ledger_entries_reverses', ['reverses_entry_id'], unique=False, postgresql_where=sa.text('reverses_entry_id IS NOT NULL'))

    op.create_table('entry_reversals',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('entry_id', sa.BigInteger(), nullable=False),
    sa.Column('operation_id', sa.BigInteger(), nullable=False),
    sa.Column('requested', sa.BigInteger(), nullable=False),
    sa.Column('taken', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('requested > 0 AND taken >= 0 AND taken <= requested', name=op.f('ck_entry_reversals_taken_within_requested')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_entry_reversals_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['operation_id'], ['ledger_operations.id'], name=op.f('fk_entry_reversals_operation_id_ledger_operations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_reversals'))
    )
    with op.batch_alter_table('entry_reversals', schema=None) as batch_op:
        batch_op.create_index('ix_entry_reversals_entry_id', ['entry_id'], unique=False)

    op.create_table('points_lots',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('earn_entry_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('earned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'active', 'cancelled', 'expired')", name=op.f('ck_points_lots_status_known')),
    sa.CheckConstraint('amount > 0 AND remaining >= 0 AND remaining <= amount', name=op.f('ck_points_lots_remaining_within_amount')),
    sa.ForeignKeyConstraint(['earn_entry_id'], ['ledger_entries.id'], name=op.f('fk_points_lots_earn_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_points_lots_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_lots')),
    sa.UniqueConstraint('earn_entry_id', name='uq_points_lots_earn_entry_id')
    )
    with op.batch_alter_table('points_lots', schema=None) as batch_op:
        batch_op.create_index('ix_points_lots_due_expiry', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'active' AND remaining > 0"))
        batch_op.create_index('ix_points_lots_due_release', ['available_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_points_lots_member_spendable', ['member_id', 'expires_at'], unique=False, postgresql_where=sa.text("status = 'active' AND remaining > 0"))

    op.create_table('lot_allocations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('entry_id', sa.BigInteger(), nullable=False),
    sa.Column('lot_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('returned', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint('amount > 0 AND returned >= 0 AND returned <= amount', name=op.f('ck_lot_allocations_returned_within_amount')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_lot_allocations_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['lot_id'], ['points_lots.id'], name=op.f('fk_lot_allocations_lot_id_points_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_allocations'))
    )
    with op.batch_alter_table('lot_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_lot_allocations_entry_id', ['entry_id'], unique=False)
        batch_op.create_index('ix_lot_allocations_lot_id', ['lot_id'], unique=False)



def downgrade():
    with op.batch_alter_table('lot_allocations', schema=None) as batch_op:
        batch_op.drop_index('ix_lot_allocations_lot_id')
        batch_op.drop_index('ix_lot_allocations_entry_id')

    op.drop_table('lot_allocations')
    with op.batch_alter_table('points_lots', schema=None) as batch_op:
        batch_op.drop_index('ix_points_lots_member_spendable', postgresql_where=sa.text("status = 'active' AND remaining > 0"))
        batch_op.drop_index('ix_points_lots_due_release', postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_points_lots_due_expiry', postgresql_where=sa.text("status = 'active' AND remaining > 0"))

    op.drop_table('points_lots')
    with op.batch_alter_table('entry_reversals', schema=None) as batch_op:
        batch_op.drop_index('ix_entry_reversals_entry_id')

    op.drop_table('entry_reversals')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_reverses', postgresql_where=sa.text('reverses_entry_id IS NOT NULL'))
        batch_op.drop_index('ix_ledger_entries_member_id_id')
        batch_op.drop_index('ix_ledger_entries_created_at')

    op.drop_table('ledger_entries')
    op.drop_table('point_accounts')
    op.drop_table('ledger_operations')
    op.drop_table('programme')
    op.drop_table('operators')
