"""The dashboard's screens, one class per module."""
