# What the SAM stack consumes, published to SSM Parameter Store under /<name>/:
# template.yaml's parameters are of type AWS::SSM::Parameter::Value<String> and default to
# these names (samconfig.toml points another environment, another name, at its own), so `sam deploy`
# needs no copy-paste from `terraform output`.
locals {
  sam_parameters = {
    "bucket-name"            = aws_s3_bucket.data.bucket
    "kms-key-arn"            = aws_kms_key.data.arn
    "queue-arn"              = aws_sqs_queue.uploads.arn
    "dead-letter-queue-name" = aws_sqs_queue.dead_letters.name
    "starter-role-arn"       = aws_iam_role.function["starter"].arn
    "validate-role-arn"      = aws_iam_role.function["validate"].arn
    "validate-part-role-arn" = aws_iam_role.function["validate-part"].arn
    "summarize-role-arn"     = aws_iam_role.function["summarize"].arn
    "persist-role-arn"       = aws_iam_role.function["persist"].arn
    "persist-role-name"      = aws_iam_role.function["persist"].name
    "migrate-role-arn"       = aws_iam_role.function["migrate"].arn
    "migrate-role-name"      = aws_iam_role.function["migrate"].name
    "state-machine-role-arn" = aws_iam_role.state_machine.arn
    "incoming-prefix"        = local.prefixes.incoming
    "vpc-id"                 = var.vpc_id
    "topic-name"             = aws_sns_topic.uploads.name
    "undelivered-queue-name" = aws_sqs_queue.undelivered.name
    "alarm-topic-arn"        = aws_sns_topic.alarms.arn
  }
}

resource "aws_ssm_parameter" "sam" {
  # checkov:skip=CKV2_AWS_34: names and ARNs, not secrets; CloudFormation's SSM parameter types cannot read SecureString.
  for_each = local.sam_parameters
  name     = "/${var.name}/${each.key}"
  type     = "String"
  value    = each.value
}

resource "aws_ssm_parameter" "private_subnet_ids" {
  # checkov:skip=CKV2_AWS_34: subnet IDs, not secrets; CloudFormation's SSM parameter types cannot read SecureString.
  name  = "/${var.name}/private-subnet-ids"
  type  = "StringList"
  value = join(",", var.private_subnet_ids)
}

resource "aws_ssm_parameter" "private_route_table_ids" {
  # checkov:skip=CKV2_AWS_34: route table IDs, not secrets; CloudFormation's SSM parameter types cannot read SecureString.
  name  = "/${var.name}/private-route-table-ids"
  type  = "StringList"
  value = join(",", var.private_route_table_ids)
}

output "bucket_name" {
  value = aws_s3_bucket.data.bucket
}

output "bucket_arn" {
  value = aws_s3_bucket.data.arn
}

output "kms_key_arn" {
  value = aws_kms_key.data.arn
}

output "topic_arn" {
  value = aws_sns_topic.uploads.arn
}

output "queue_arn" {
  value = aws_sqs_queue.uploads.arn
}

output "queue_url" {
  value = aws_sqs_queue.uploads.id
}

output "dead_letter_queue_arn" {
  value = aws_sqs_queue.dead_letters.arn
}

output "dead_letter_queue_name" {
  value = aws_sqs_queue.dead_letters.name
}

output "undelivered_queue_url" {
  description = "Upload events SNS could not deliver to the starter's queue."
  value       = aws_sqs_queue.undelivered.id
}

output "function_role_arns" {
  value = { for key, role in aws_iam_role.function : key => role.arn }
}

output "persist_role_name" {
  value = aws_iam_role.function["persist"].name
}

output "state_machine_role_arn" {
  value = aws_iam_role.state_machine.arn
}

output "state_machine_arn" {
  description = "The ARN the SAM stack's state machine will have."
  value       = local.state_machine_arn
}

output "ssm_parameter_path" {
  description = "Where template.yaml's parameters read this stack's outputs."
  value       = "/${var.name}/"
}
