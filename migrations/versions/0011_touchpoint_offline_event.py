"""touchpoints: the offline event attended, for attribution

Revision ID: 0011_touchpoint_offline_event
Revises: 0010_referrals
Create Date: 2026-12-04 11:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011_touchpoint_offline_event'
down_revision = '0010_referrals'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offline_event_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_touchpoints_offline_event_id_offline_events'),
                                    'offline_events', ['offline_event_id'], ['id'])


def downgrade():
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_touchpoints_offline_event_id_offline_events'), type_='foreignkey')
        batch_op.drop_column('offline_event_id')
