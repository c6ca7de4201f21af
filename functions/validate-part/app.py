"""Validate-part Lambda: validate and summarize one byte range of a split file (docs/adr/0025)."""

from aws_lambda_powertools import Logger, Metrics, Tracer

from csvflow.bootstrap import storage_function
from csvflow.commands import ValidatePart, step_name
from csvflow.observability import correlation_keys, run_step

# Service and namespace from the environment (template.yaml Globals); the service is the
# package's logger, so every csvflow module's line is Powertools JSON with these keys.
logger, tracer, metrics = Logger(), Tracer(), Metrics()
handle = storage_function()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    command = ValidatePart.from_event(event)
    logger.append_keys(**correlation_keys(command))
    return run_step(step_name(command), handle, command, metrics)
