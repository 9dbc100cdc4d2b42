"""Webhook receiver parts. So far only signature checks (`gtmkit.webhooks.signatures`).

Example:
    >>> from gtmkit.webhooks import signatures
    >>> signatures.MAX_AGE_SECONDS
    300.0
"""
