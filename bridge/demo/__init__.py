"""bridge.demo"""
