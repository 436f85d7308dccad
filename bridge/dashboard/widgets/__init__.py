"""The dashboard's widgets, one class per module."""
