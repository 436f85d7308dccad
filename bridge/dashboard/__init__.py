"""The Textual dashboard: ports of one or more bridges, over the control API only."""
