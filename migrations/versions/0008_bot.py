"""the bot: official-account followers linked to members, callbacks handled once

Revision ID: 0008_bot
Revises: 0007_checkin_points
Create Date: 2026-11-22 17:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0008_bot'
down_revision = '0007_checkin_points'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bot_followers',
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('linked_by', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_bot_followers_member_id_members')),
    sa.PrimaryKeyConstraint('openid', name=op.f('pk_bot_followers')),
    sa.UniqueConstraint('member_id', name=op.f('uq_bot_followers_member_id'))
    )
    op.create_table('bot_messages',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('msg_key', sa.String(length=128), nullable=False),
    sa.Column('user', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_messages')),
    sa.UniqueConstraint('channel', 'msg_key', name='uq_bot_messages_channel_key')
    )


def downgrade():
    op.drop_table('bot_messages')
    op.drop_table('bot_followers')
