"""Destinations after the waterfall: Slack, Clay and the manual LinkedIn hand-off (issue 13)."""
