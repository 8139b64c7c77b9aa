"""programme: operators set the member day (on or off, day of month, multiplier, name); campaigns
made for a member day are marked as such so that a change of settings can replace them

Revision ID: 0017_member_day_settings
Revises: 0016_audit_mask_webhook_keys
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0017_member_day_settings'
down_revision = '0016_audit_mask_webhook_keys'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.add_column(sa.Column('member_day_enabled', sa.Boolean(), server_default='true', nullable=False))
        batch_op.add_column(sa.Column('member_day_of_month', sa.SmallInteger(), server_default='8', nullable=False))
        batch_op.add_column(sa.Column('member_day_multiplier_pct', sa.Integer(), server_default='200', nullable=False))
        batch_op.add_column(sa.Column('member_day_name', sa.String(length=16), server_default='会员日', nullable=False))
        batch_op.create_check_constraint(op.f('ck_programme_member_day_of_month_range'),
                                         'member_day_of_month BETWEEN 1 AND 28')
        batch_op.create_check_constraint(op.f('ck_programme_member_day_multiplier_range'),
                                         'member_day_multiplier_pct BETWEEN 100 AND 1000')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('member_day', sa.Boolean(), server_default='false', nullable=False))
    # the member-day campaigns the job made so far: named after the member day, one business day long
    op.execute("""UPDATE campaigns SET member_day = true
                  WHERE (name = '会员日' OR name LIKE '会员日(等级权益 % 倍)') AND message IS NULL AND segment IS NULL
                    AND event_types IS NULL AND ends_at - starts_at = interval '1 day'""")


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('member_day')
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_programme_member_day_multiplier_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_programme_member_day_of_month_range'), type_='check')
        batch_op.drop_column('member_day_name')
        batch_op.drop_column('member_day_multiplier_pct')
        batch_op.drop_column('member_day_of_month')
        batch_op.drop_column('member_day_enabled')
