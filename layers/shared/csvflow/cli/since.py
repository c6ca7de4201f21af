"""--since: how far back a command looks (a duration, today, yesterday, or a date)."""

from __future__ import annotations

import argparse
import datetime as dt

SINCE_HELP = "a duration back from now (30m, 2h, 3d, 1w), today, yesterday, or an ISO date/time"
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> dt.datetime:
    now = dt.datetime.now(tz=dt.UTC)
    word = text.strip().lower()
    if word[:-1].isdigit() and word[-1] in _UNITS:
        return now - dt.timedelta(**{_UNITS[word[-1]]: int(word[:-1])})
    midnight = dt.datetime.combine(dt.datetime.now().date(), dt.time()).astimezone()
    if word == "today":
        return midnight
    if word == "yesterday":
        return midnight - dt.timedelta(days=1)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {SINCE_HELP}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
