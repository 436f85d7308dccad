"""bridge.port"""
