"""moto's SNS signing key is made on a thread as the local runtime starts (local/sns_signing.py),
not by the first publish; the messages delivered still carry a signature that verifies."""

import base64
import json
import threading

import boto3
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from moto import mock_aws
from moto.sns import models as sns_models

from csvflow.local.sns_signing import signing_key_made_ahead


def _publish_through_a_subscription() -> dict:
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="uploads")["TopicArn"]
    queue = sqs.create_queue(QueueName="starts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    sns.publish(TopicArn=topic, Message="an object was put")
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    return json.loads(message["Body"])


def test_the_signing_key_is_made_on_its_own_thread_and_signs_what_is_delivered(monkeypatch):
    made_on: list[str] = []
    keys: list = []
    make = sns_models.rsa.generate_private_key

    def counted(**kwargs):
        made_on.append(threading.current_thread().name)
        keys.append(make(**kwargs))
        return keys[-1]

    monkeypatch.setattr(sns_models.rsa, "generate_private_key", counted)
    with signing_key_made_ahead(), mock_aws():
        delivered = _publish_through_a_subscription()

    assert made_on == ["sns-signing-key"]
    signed = "".join(
        f"{name}\n{delivered[name]}\n"
        for name in ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
    )
    keys[0].public_key().verify(
        base64.b64decode(delivered["Signature"]),
        signed.encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert sns_models.Subscription.private_key.__name__ == "private_key"  # moto's, put back
