"""Webhooks: signed callbacks for events."""

from gazette.webhooks.service import EVENTS, Delivery, NewWebhook, Webhook, Webhooks
from gazette.webhooks.signing import sign, verify

__all__ = ["EVENTS", "Delivery", "NewWebhook", "Webhook", "Webhooks", "sign", "verify"]
