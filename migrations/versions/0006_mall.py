"""stores, staff, mall, lottery

Revision ID: 0006_mall
Revises: 0005_levels
Create Date: 2026-11-22 14:41:13.883186

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0006_mall'
down_revision = '0005_levels'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lottery_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cost_points', sa.Integer(), nullable=False),
    sa.Column('daily_limit', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('id = 1 AND cost_points >= 0 AND daily_limit >= 1', name=op.f('ck_lottery_settings_values_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lottery_settings'))
    )
    op.create_table('mall_items',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('sku', sa.String(length=48), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('images', postgresql.ARRAY(sa.String(length=512)), nullable=False),
    sa.Column('points_price', sa.Integer(), nullable=False),
    sa.Column('cash_price_cents', sa.Integer(), nullable=False),
    sa.Column('voucher_value_cents', sa.Integer(), nullable=False),
    sa.Column('total_stock', sa.Integer(), nullable=False),
    sa.Column('remaining_stock', sa.Integer(), nullable=False),
    sa.Column('limit_per_member', sa.Integer(), nullable=True),
    sa.Column('limit_per_day', sa.Integer(), nullable=True),
    sa.Column('level_codes', postgresql.ARRAY(sa.String(length=32)), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('coupon', 'pickup', 'delivery', 'voucher')", name=op.f('ck_mall_items_kind_known')),
    sa.CheckConstraint("status IN ('draft', 'on_sale', 'off_sale')", name=op.f('ck_mall_items_status_known')),
    sa.CheckConstraint('points_price >= 0 AND cash_price_cents >= 0 AND points_price + cash_price_cents > 0', name=op.f('ck_mall_items_price_valid')),
    sa.CheckConstraint('remaining_stock >= 0 AND remaining_stock <= total_stock', name=op.f('ck_mall_items_stock_within_total')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mall_items')),
    sa.UniqueConstraint('sku', name=op.f('uq_mall_items_sku'))
    )
    with op.batch_alter_table('mall_items', schema=None) as batch_op:
        batch_op.create_index('ix_mall_items_listing', ['status', 'category', 'sort'], unique=False)

    op.create_table('staff',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('wecom_userid', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('clerk', 'store_manager', 'operator', 'admin')", name=op.f('ck_staff_role_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_username')),
    sa.UniqueConstraint('wecom_userid', name=op.f('uq_staff_wecom_userid'))
    )
    op.create_table('stores',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('city', sa.String(length=32), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stores')),
    sa.UniqueConstraint('code', name=op.f('uq_stores_code'))
    )
    op.create_table('lottery_prizes',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('points', 'item', 'nothing')", name=op.f('ck_lottery_prizes_kind_known')),
    sa.CheckConstraint('weight > 0 AND (stock IS NULL OR stock >= 0) AND points >= 0', name=op.f('ck_lottery_prizes_values_valid')),
    sa.ForeignKeyConstraint(['item_id'], ['mall_items.id'], name=op.f('fk_lottery_prizes_item_id_mall_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lottery_prizes'))
    )
    op.create_table('mall_coupon_codes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['mall_items.id'], name=op.f('fk_mall_coupon_codes_item_id_mall_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mall_coupon_codes')),
    sa.UniqueConstraint('item_id', 'code', name='uq_mall_coupon_codes_item_code')
    )
    with op.batch_alter_table('mall_coupon_codes', schema=None) as batch_op:
        batch_op.create_index('ix_mall_coupon_codes_free', ['item_id'], unique=False, postgresql_where=sa.text('order_id IS NULL'))
        batch_op.create_index(batch_op.f('ix_mall_coupon_codes_order_id'), ['order_id'], unique=False)

    op.create_table('mall_item_stores',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['mall_items.id'], name=op.f('fk_mall_item_stores_item_id_mall_items')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_mall_item_stores_store_id_stores')),
    sa.PrimaryKeyConstraint('item_id', 'store_id', name=op.f('pk_mall_item_stores'))
    )
    op.create_table('mall_orders',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('points_total', sa.Integer(), nullable=False),
    sa.Column('cash_total_cents', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('spend_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('pickup_code', sa.String(length=16), nullable=True),
    sa.Column('pickup_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shipping_address', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('fulfilled_store_id', sa.Integer(), nullable=True),
    sa.Column('fulfilled_by', sa.BigInteger(), nullable=True),
    sa.Column('prepay_id', sa.String(length=64), nullable=True),
    sa.Column('transaction_id', sa.String(length=64), nullable=True),
    sa.Column('pay_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('created', 'awaiting_payment', 'paid', 'awaiting_pickup', 'awaiting_shipment', 'fulfilled', 'cancelled', 'refunded')", name=op.f('ck_mall_orders_status_known')),
    sa.CheckConstraint('quantity > 0 AND points_total >= 0 AND cash_total_cents >= 0', name=op.f('ck_mall_orders_amounts_valid')),
    sa.ForeignKeyConstraint(['fulfilled_store_id'], ['stores.id'], name=op.f('fk_mall_orders_fulfilled_store_id_stores')),
    sa.ForeignKeyConstraint(['item_id'], ['mall_items.id'], name=op.f('fk_mall_orders_item_id_mall_items')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_mall_orders_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mall_orders')),
    sa.UniqueConstraint('member_id', 'idempotency_key', name='uq_mall_orders_member_key'),
    sa.UniqueConstraint('order_no', name=op.f('uq_mall_orders_order_no')),
    sa.UniqueConstraint('pickup_code', name=op.f('uq_mall_orders_pickup_code'))
    )
    with op.batch_alter_table('mall_orders', schema=None) as batch_op:
        batch_op.create_index('ix_mall_orders_limits', ['member_id', 'item_id', 'created_at'], unique=False)
        batch_op.create_index('ix_mall_orders_member', ['member_id', 'id'], unique=False)
        batch_op.create_index('ix_mall_orders_unpaid', ['pay_expires_at'], unique=False, postgresql_where=sa.text("status = 'awaiting_payment'"))

    op.create_table('staff_actions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('staff_id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_staff_actions_member_id_members')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_actions_staff_id_staff')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_staff_actions_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_actions')),
    sa.UniqueConstraint('staff_id', 'idempotency_key', name='uq_staff_actions_staff_key')
    )
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.create_index('ix_staff_actions_store_time', ['store_id', 'created_at'], unique=False)

    op.create_table('staff_stores',
    sa.Column('staff_id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_stores_staff_id_staff')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_staff_stores_store_id_stores')),
    sa.PrimaryKeyConstraint('staff_id', 'store_id', name=op.f('pk_staff_stores'))
    )
    op.create_table('lottery_draws',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('prize_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('cost_points', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_lottery_draws_member_id_members')),
    sa.ForeignKeyConstraint(['prize_id'], ['lottery_prizes.id'], name=op.f('fk_lottery_draws_prize_id_lottery_prizes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lottery_draws')),
    sa.UniqueConstraint('member_id', 'idempotency_key', name='uq_lottery_draws_member_key')
    )
    with op.batch_alter_table('lottery_draws', schema=None) as batch_op:
        batch_op.create_index('ix_lottery_draws_member_time', ['member_id', 'created_at'], unique=False)

    op.create_table('mall_order_transitions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['mall_orders.id'], name=op.f('fk_mall_order_transitions_order_id_mall_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mall_order_transitions'))
    )
    with op.batch_alter_table('mall_order_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mall_order_transitions_order_id'), ['order_id'], unique=False)



def downgrade():
    with op.batch_alter_table('mall_order_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mall_order_transitions_order_id'))

    op.drop_table('mall_order_transitions')
    with op.batch_alter_table('lottery_draws', schema=None) as batch_op:
        batch_op.drop_index('ix_lottery_draws_member_time')

    op.drop_table('lottery_draws')
    op.drop_table('staff_stores')
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_actions_store_time')

    op.drop_table('staff_actions')
    with op.batch_alter_table('mall_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_mall_orders_unpaid', postgresql_where=sa.text("status = 'awaiting_payment'"))
        batch_op.drop_index('ix_mall_orders_member')
        batch_op.drop_index('ix_mall_orders_limits')

    op.drop_table('mall_orders')
    op.drop_table('mall_item_stores')
    with op.batch_alter_table('mall_coupon_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mall_coupon_codes_order_id'))
        batch_op.drop_index('ix_mall_coupon_codes_free', postgresql_where=sa.text('order_id IS NULL'))

    op.drop_table('mall_coupon_codes')
    op.drop_table('lottery_prizes')
    op.drop_table('stores')
    op.drop_table('staff')
    with op.batch_alter_table('mall_items', schema=None) as batch_op:
        batch_op.drop_index('ix_mall_items_listing')

    op.drop_table('mall_items')
    op.drop_table('lottery_settings')
