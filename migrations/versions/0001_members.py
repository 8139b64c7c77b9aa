"""members

Revision ID: 0001_members
Revises: 
Create Date: 2026-11-22 13:59:57.516935

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001_members'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('members',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('appid', sa.String(length=32), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('unionid', sa.String(length=64), nullable=True),
    sa.Column('session_key', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('nickname', sa.String(length=64), nullable=True),
    sa.Column('avatar_url', sa.String(length=512), nullable=True),
    sa.Column('gender', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('region', sa.String(length=64), nullable=True),
    sa.Column('company', sa.String(length=128), nullable=True),
    sa.Column('industry', sa.String(length=64), nullable=True),
    sa.Column('company_size', sa.String(length=32), nullable=True),
    sa.Column('job_role', sa.String(length=64), nullable=True),
    sa.Column('register_scene', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('phone_bound_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'erased')", name=op.f('ck_members_status_known')),
    sa.CheckConstraint('gender IN (0, 1, 2)', name=op.f('ck_members_gender_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('appid', 'openid', name='uq_members_appid_openid')
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index('ix_members_unionid', ['unionid'], unique=False, postgresql_where=sa.text('unionid IS NOT NULL'))
        batch_op.create_index('uq_members_appid_phone', ['appid', 'phone'], unique=True, postgresql_where=sa.text('phone IS NOT NULL'))



def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('uq_members_appid_phone', postgresql_where=sa.text('phone IS NOT NULL'))
        batch_op.drop_index('ix_members_unionid', postgresql_where=sa.text('unionid IS NOT NULL'))

    op.drop_table('members')
