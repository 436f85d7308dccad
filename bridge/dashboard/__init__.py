"""bridge.dashboard"""
