"""dashboard: closed business days' figures kept once, with the marks that tell when to recompute them;
an index for the birthday gifts' results

Revision ID: 0015_dashboard_days
Revises: 0014_segment_targeting
Create Date: 2026-12-04 21:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0015_dashboard_days'
down_revision = '0014_segment_targeting'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dashboard_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('new_members', sa.Integer(), nullable=False),
    sa.Column('active_members', sa.Integer(), nullable=False),
    sa.Column('checkins', sa.Integer(), nullable=False),
    sa.Column('issued', sa.BigInteger(), nullable=False),
    sa.Column('spent', sa.BigInteger(), nullable=False),
    sa.Column('expired', sa.BigInteger(), nullable=False),
    sa.Column('deducted', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_dashboard_days'))
    )
    op.create_table('dashboard_rollup',
    sa.Column('id', sa.SmallInteger(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('through', sa.Date(), nullable=True),
    sa.Column('ledger_id', sa.BigInteger(), nullable=False),
    sa.Column('checkin_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_dashboard_rollup_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_rollup'))
    )
    op.create_index('ix_ledger_entries_birthday_gifts', 'ledger_entries', ['created_at'], unique=False,
                    postgresql_where=sa.text("reason_code = 'birthday_gift'"))


def downgrade():
    op.drop_index('ix_ledger_entries_birthday_gifts', table_name='ledger_entries',
                  postgresql_where=sa.text("reason_code = 'birthday_gift'"))
    op.drop_table('dashboard_rollup')
    op.drop_table('dashboard_days')
