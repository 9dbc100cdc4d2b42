"""Webhook receiver parts. So far only signature checks (`gtmkit.webhooks.signatures`)."""
