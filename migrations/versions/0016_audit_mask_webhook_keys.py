"""audit: mask the WeCom robots' webhook keys recorded before the recorder treated them as secrets

Revision ID: 0016_audit_mask_webhook_keys
Revises: 0015_dashboard_days
Create Date: 2026-12-04 22:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016_audit_mask_webhook_keys'
down_revision = '0015_dashboard_days'
branch_labels = None
depends_on = None


def upgrade():
    for column in ("before", "after"):
        op.execute(f"""UPDATE audit_entries SET "{column}" = jsonb_set("{column}", '{{webhook_key}}', '"***"')
                       WHERE target_table = 'wecom_robots' AND "{column}" ? 'webhook_key'
                         AND "{column}"->>'webhook_key' IS DISTINCT FROM '***'""")


def downgrade():
    pass  # a secret once masked is not brought back
