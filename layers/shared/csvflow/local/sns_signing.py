"""moto's SNS signing key made on a thread as the runtime starts, not on the stack's start path.

moto (5.2) signs each message SNS delivers with a 2048-bit RSA key, made at a subscription's
first publish (``Subscription.private_key``, cached per subscription): here S3's test event,
published as the stack sets the bucket's notifications, 60-90 ms of CPU in the middle of the
stack's start. OpenSSL makes the key without the GIL, so on a thread started with the runtime it
is made beside the stack's GIL-bound start. One key serves the process's subscriptions: moto
never shows it (its SigningCertURL is a made-up address), so what was signed by which key only
matters for the signature, which still verifies with the key's public half.

A seam into moto's SNS model; moto is pinned, and ``tests/integration/test_sns_signing.py``
fails if an upgrade moves it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

KEY_BITS = 2048  # moto's, as it would make one


@contextmanager
def signing_key_made_ahead() -> Iterator[None]:
    """For the block, moto's SNS subscriptions sign with one key, made on a thread now."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from moto.sns.models import Subscription

    made: Future[Any] = Future()

    def make() -> None:
        try:
            made.set_result(rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS))
        except BaseException as error:  # given to the first publish, as moto would raise it
            made.set_exception(error)

    threading.Thread(target=make, name="sns-signing-key", daemon=True).start()
    original = Subscription.__dict__["private_key"]
    Subscription.private_key = lambda _subscription: made.result()  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Subscription.private_key = original  # type: ignore[method-assign]
