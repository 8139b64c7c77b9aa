"""Members: WeChat login, profile, phone binding, account deletion."""
