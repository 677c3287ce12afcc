"""The outside world (DESIGN.md layers): network I/O only — send this, fetch that.

``webhooks``: alert webhooks over httpx (generic JSON, Slack incoming webhook, PagerDuty
Events API v2) with retries (tenacity). The loops that turn alerts into outbox rows and
outbox rows into deliveries live in ``agent_console.desk``; this package never imports it.
"""
