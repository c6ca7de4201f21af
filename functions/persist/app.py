"""Persist Lambda: record a summary (or, from the failure branch, a failure) in PostgreSQL."""

from aws_lambda_powertools import Logger

from csvflow.bootstrap import persist_function
from csvflow.commands import persist_command

logger = Logger(service="csvflow-persist")
handle = persist_function()


@logger.inject_lambda_context
def lambda_handler(event, context):
    command = persist_command(event)
    logger.append_keys(ingestion_id=command.ingestion_id)
    return handle(command)
