"""Summarize Lambda: profile the validated Parquet and compute the contract's aggregates."""

from aws_lambda_powertools import Logger

from csvflow.bootstrap import storage_function
from csvflow.commands import SummarizeDataset

logger = Logger(service="csvflow-summarize")
handle = storage_function()


@logger.inject_lambda_context
def lambda_handler(event, context):
    command = SummarizeDataset.from_event(event)
    logger.append_keys(ingestion_id=command.ingestion_id)
    return handle(command)
