"""The bot: WeChat official-account and WeCom callback endpoints and their command handlers."""
