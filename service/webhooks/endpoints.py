"""Webhook endpoints of an organisation: created with a secret shown once, soft-deleted."""

from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from service import audit
from service.auth.principal import Principal
from service.clock import now
from service.errors import Invalid, NotFound
from service.models import WebhookDelivery, WebhookEndpoint
from service.webhooks.events import EVENT_TYPES, live_endpoints

Owned = TypeVar("Owned", WebhookEndpoint, WebhookDelivery)


def load_owned(session: Session, principal: Principal, model: type[Owned], object_id: int) -> Owned:
    """Another organisation's endpoint or delivery is "not found", as in service.scope."""
    row = session.get(model, object_id)
    if row is None or row.organisation_id != principal.organisation_id:
        noun = "endpoint" if model is WebhookEndpoint else "delivery"
        raise NotFound(f"webhook {noun} {object_id} not found")
    return row


def check_url(url: str) -> str:
    """http(s) with a host and no credentials: a secret in the URL would show in every log."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise Invalid(f"the webhook URL is not a valid URL ({exc})", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("the webhook URL must be an absolute http:// or https:// URL",
                      field="url")
    if parts.username is not None or parts.password is not None:
        raise Invalid("the webhook URL must not contain credentials; every delivery is "
                      "signed, verify the webhook-signature header instead", field="url")
    if port == 0:
        raise Invalid("the webhook URL has no usable port", field="url")
    return parts.geturl()


def private_address(host: str) -> str | None:
    """The first address of `host` that is not public (loopback, private, link-local, …),
    or None. A name that does not resolve counts as not public: nothing to send to."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return host
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            return str(address)
    return None


def check_reachable(url: str, *, may_reach_private: bool) -> None:
    """In production a receiver is https on a public address: a URL that names the service's
    own network (SSRF) is refused at registration and again before each delivery."""
    if may_reach_private:
        return
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise Invalid("the webhook URL must be https://", field="url")
    if (address := private_address(parts.hostname or "")) is not None:
        raise Invalid(f"the webhook URL resolves to a non-public address ({address})",
                      field="url")


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def create_endpoint(session: Session, principal: Principal, *, url: str,
                    events: Sequence[str] | None = None,
                    may_reach_private: bool = True) -> WebhookEndpoint:
    """Register a receiver; its `secret` is readable on the returned row, and never again."""
    chosen = list(dict.fromkeys(events)) if events else list(EVENT_TYPES)
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise Invalid(f"unknown webhook events {unknown}; known: {list(EVENT_TYPES)}",
                      field="events")
    url = check_url(url)
    check_reachable(url, may_reach_private=may_reach_private)
    endpoint = WebhookEndpoint(organisation_id=principal.organisation_id, url=url,
                               events=chosen, secret=new_secret(), created_by=principal.actor)
    session.add(endpoint)
    session.flush()
    audit.record(session, principal, "webhook_endpoint.created", "webhook_endpoint", endpoint.id)
    return endpoint


def list_endpoints(session: Session, principal: Principal) -> list[WebhookEndpoint]:
    rows = live_endpoints(session, principal.organisation_id)
    audit.record(session, principal, "webhook_endpoint.list", "webhook_endpoint", "*")
    return rows


def delete_endpoint(session: Session, principal: Principal, endpoint_id: int) -> None:
    """Soft delete: nothing more is sent to it, and its delivery log stays whole."""
    endpoint = load_owned(session, principal, WebhookEndpoint, endpoint_id)
    if endpoint.deleted_at is not None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    endpoint.deleted_at = now()
    audit.record(session, principal, "webhook_endpoint.deleted", "webhook_endpoint",
                 endpoint.id)
