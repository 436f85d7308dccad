"""Shipped udev rules (installed as ``bridge._udev``); data files only."""
