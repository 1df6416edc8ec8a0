"""X-Twilio-Signature checks with the twilio library's RequestValidator."""

from __future__ import annotations

import hmac

from flask import Request
from twilio.request_validator import RequestValidator


def public_url(request: Request, public_base: str | None) -> str:
    """The URL Twilio signed: SMSLINE_PUBLIC_URL + path + query when set, else the request URL
    (which honours X-Forwarded-* only when ProxyFix is configured)."""
    if not public_base:
        return request.url
    query = request.query_string.decode()
    return public_base + request.path + (f"?{query}" if query else "")


def is_valid(request: Request, auth_token: str, public_base: str | None) -> bool:
    """The signature over the URL as configured, the case of every text; only when that does not
    match does the library's `validate` try its variants (the URL with and without a port), so a
    valid webhook costs one HMAC, not two."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    validator = RequestValidator(auth_token)
    url = public_url(request, public_base)
    computed = validator.compute_signature(url, request.form)
    if hmac.compare_digest(computed.encode(), signature.encode()):
        return True
    return validator.validate(url, request.form, signature)
