"""bridge.telnet"""
