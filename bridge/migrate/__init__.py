"""Converters from other serial servers' configurations to serial-bridge's TOML."""
