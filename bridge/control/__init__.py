"""bridge.control"""
