"""bridge.device"""
