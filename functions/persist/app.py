"""Persist Lambda: record a summary (or, from the failure branch, a failure) in PostgreSQL."""

from aws_lambda_powertools import Logger, Metrics, Tracer

from csvflow.bootstrap import persist_function
from csvflow.commands import persist_command
from csvflow.observability import correlation_keys, run_step

# Service and namespace from the environment (template.yaml Globals); the service is the
# package's logger, so every csvflow module's line is Powertools JSON with these keys.
logger, tracer, metrics = Logger(), Tracer(), Metrics()
handle = persist_function()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    command = persist_command(event)
    logger.append_keys(**correlation_keys(command))
    return run_step("persist", handle, command, metrics)
