"""Validate Lambda: stream the uploaded CSV, keep typed good rows as Parquet, report rejects."""

from aws_lambda_powertools import Logger, Metrics, Tracer

from csvflow.bootstrap import storage_function
from csvflow.commands import step_name, validate_command
from csvflow.observability import correlation_keys, run_step

# Service and namespace from the environment (template.yaml Globals); the service is the
# package's logger, so every csvflow module's line is Powertools JSON with these keys.
logger, tracer, metrics = Logger(), Tracer(), Metrics()
handle = storage_function()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    command = validate_command(event)
    logger.append_keys(**correlation_keys(command))
    return run_step(step_name(command), handle, command, metrics)
