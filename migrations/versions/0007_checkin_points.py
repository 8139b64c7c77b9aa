"""check-ins: what a day earned is read from its event, not copied onto the check-in

Revision ID: 0007_checkin_points
Revises: 0006_mall
Create Date: 2026-11-22 17:10:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0007_checkin_points'
down_revision = '0006_mall'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_column('checkins', 'points')


def downgrade():
    op.add_column('checkins', sa.Column('points', sa.Integer(), nullable=False, server_default='0'))
    op.execute("""
        UPDATE checkins c SET points = e.points FROM earning_events e
        WHERE e.source = 'app' AND e.event_id = 'checkin:' || c.member_id || ':' || to_char(c.day, 'YYYY-MM-DD')
    """)
