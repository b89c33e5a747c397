"""The one reading of a `Retry-After` header, for every client here (Graph, the token endpoint, Sekoia.io)."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After value (delta-seconds or an HTTP date); None when absent or unreadable.

    float() reads "nan" and "inf", and time.sleep(nan) raises: such a value counts as absent.
    """
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The Retry-After of a set of headers, whatever the case of its name (a $batch answer's are a plain dict)."""
    return parse_retry_after(next((v for k, v in headers.items() if k.lower() == "retry-after"), None))
