"""The gift mall: items, stock, orders, pickup codes, counter verification, lottery."""
