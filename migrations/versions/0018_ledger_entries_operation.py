"""points: an index on ledger_entries.operation_id, for finding what an operation wrote (the replay
of a used idempotency key, an adjustment's outcome, the import's opening balances) without passing
over the whole ledger; built concurrently, so writes go on while it builds

Revision ID: 0018_ledger_entries_operation
Revises: 0017_member_day_settings
Create Date: 2026-12-08 00:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018_ledger_entries_operation'
down_revision = '0017_member_day_settings'
branch_labels = None
depends_on = None


def upgrade():
    with op.get_context().autocommit_block():
        op.create_index('ix_ledger_entries_operation_id', 'ledger_entries', ['operation_id'], unique=False,
                        postgresql_concurrently=True, if_not_exists=True)


def downgrade():
    with op.get_context().autocommit_block():
        op.drop_index('ix_ledger_entries_operation_id', table_name='ledger_entries', postgresql_concurrently=True,
                      if_exists=True)
