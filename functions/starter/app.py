"""Starter Lambda: SQS messages of S3 events in, one Step Functions execution per upload."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from csvflow.bootstrap import starter_function
from csvflow.events import start_commands

# Service from the environment (template.yaml Globals): the package's logger, so every
# csvflow module's line is Powertools JSON.
logger, tracer = Logger(), Tracer()
processor = BatchProcessor(event_type=EventType.SQS)
handle, settings = starter_function()


def start_record(record: SQSRecord) -> None:
    for command in start_commands(
        record.body, incoming_prefix=settings.incoming_prefix, bucket=settings.bucket
    ):
        handle(command)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return process_partial_response(
        event=event, record_handler=start_record, processor=processor, context=context
    )
