"""bridge.config"""
