"""Shipped hardware profiles (installed as ``bridge._hw_profiles``); data files only."""
