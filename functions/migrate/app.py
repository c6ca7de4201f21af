"""Migration Lambda: the schema and the application's role, as a deploy step.

CloudFormation invokes it through a custom resource on each deploy that changes the
shared layer (the migrations ship in it); `aws lambda invoke` runs it by hand.
"""

from aws_lambda_powertools import Logger

from csvflow.adapters.cloudformation import answer_custom_resource
from csvflow.bootstrap import migration_function
from csvflow.commands import MigrateDatabase

# Service from the environment (template.yaml Globals): the package's logger, so every
# csvflow module's line is Powertools JSON.
logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    # Wired per invocation, inside the reply: CloudFormation hears of a configuration
    # error too, instead of waiting for a reply that a failed cold start never sends.
    return answer_custom_resource(
        event,
        lambda: migration_function()(MigrateDatabase()),
        seconds_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
