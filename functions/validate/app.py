"""Validate Lambda: stream the uploaded CSV, keep typed good rows as Parquet, report rejects."""

from aws_lambda_powertools import Logger

from csvflow.bootstrap import storage_function
from csvflow.commands import ValidateCsv

logger = Logger(service="csvflow-validate")
handle = storage_function()


@logger.inject_lambda_context
def lambda_handler(event, context):
    command = ValidateCsv.from_event(event)
    logger.append_keys(object_key=command.source.key, ingestion_id=command.ingestion_id)
    return handle(command)
