"""Settings and the default programme. Nothing here connects to anything."""
from config.settings import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
