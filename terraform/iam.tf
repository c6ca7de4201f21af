# One role per function and one for the state machine, each allowed only what its step does.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "states_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.functions
  name               = each.value
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions
  name     = "${each.value}-access"
  role     = aws_iam_role.function[each.key].id
  policy   = data.aws_iam_policy_document.function[each.key].json
}

# What every function needs: its own log group, tracing, and the data key.
data "aws_iam_policy_document" "function_common" {
  for_each = local.functions

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${each.value}:*"]
  }

  statement {
    # X-Ray has no resource-level permissions: "*" is the only resource it accepts.
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
}

data "aws_iam_policy_document" "function" {
  for_each                = local.functions
  source_policy_documents = [data.aws_iam_policy_document.function_common[each.key].json, local.function_access[each.key]]
}

locals {
  bucket_arn = aws_s3_bucket.data.arn
  function_access = {
    starter       = data.aws_iam_policy_document.starter.json
    validate      = data.aws_iam_policy_document.validate.json
    validate-part = data.aws_iam_policy_document.validate_part.json
    summarize     = data.aws_iam_policy_document.summarize.json
    persist       = data.aws_iam_policy_document.persist.json
    migrate       = data.aws_iam_policy_document.migrate.json
  }
}

data "aws_iam_policy_document" "starter" {
  statement {
    sid       = "ConsumeUploadEvents"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.uploads.arn]
  }
  statement {
    sid       = "StartIngestions"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }
}

# A missing key is a plain miss only for a role that may list the bucket: S3 answers GetObject
# on a missing key with 404 when the caller holds s3:ListBucket on the bucket, else with 403.
# AWS documents only the unconditional case; a GetObject request has no s3:prefix in its
# context, so a ListBucket limited by an s3:prefix condition cannot be relied on to count:
# the grants below carry no condition (a missing contract is the normal case, not
# AccessDenied retried as an outage).
# The cost is that these roles may list every key name in the data bucket, which holds only
# this pipeline's uploads and intermediates; reading objects stays limited by prefix.

# What validate and a split file's part read alike: the upload (a part its byte range of it),
# its contract, a split file's plan, a part's own record and earlier parts' keys.
data "aws_iam_policy_document" "read_an_upload" {
  statement {
    sid       = "ReadUploadsAndContracts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.bucket_arn}/${local.prefixes.incoming}*", "${local.bucket_arn}/${local.prefixes.contracts}*"]
  }
  statement {
    # A split file's plan, and a part's own record and earlier parts' keys (docs/adr/0018).
    sid       = "ReadThePlanAndParts"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${local.prefixes.work}*"]
  }
  statement {
    # Without ListBucket S3 answers a missing key with 403, which would be retried as an outage
    # (a missing contract, a part's record not written yet: the normal cases).
    sid       = "MissingMeansNotFound"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
  }
  statement {
    # An event without a version id (emulators) is matched to its version by ETag.
    sid       = "FindTheEventsVersion"
    actions   = ["s3:ListBucketVersions"]
    resources = [local.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.prefixes.incoming}*"]
    }
  }
}

# Validate writes typed Parquet and the reject report, under work/: persist gives the report
# its name under reports/ once the database has its outcome.
data "aws_iam_policy_document" "validate" {
  source_policy_documents = [data.aws_iam_policy_document.read_an_upload.json]
  statement {
    sid       = "WriteValidatedAndReport"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/${local.prefixes.work}*"]
  }
}

# A split file's part writes its Parquet, reject report, summary state and record under
# work/<ingestion>/parts/, never a report of the file's own (the merge writes that).
data "aws_iam_policy_document" "validate_part" {
  source_policy_documents = [data.aws_iam_policy_document.read_an_upload.json]
  statement {
    sid       = "WriteThePartsOutputs"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/${local.prefixes.work}*"]
  }
}

# Summarize reads the validated Parquet and the contract, writes the summary Parquet.
data "aws_iam_policy_document" "summarize" {
  statement {
    sid       = "ReadValidatedAndContracts"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${local.prefixes.work}*", "${local.bucket_arn}/${local.prefixes.contracts}*"]
  }
  statement {
    sid       = "MissingMeansNotFound"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
  }
  statement {
    # The summary; for a split file also the merged reject report (docs/adr/0018), under
    # work/ until persist records it.
    sid       = "WriteSummaryAndMergedReport"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/${local.prefixes.work}*"]
  }
}

# Persist reads the summary Parquet and, once the database has committed, copies the reject
# report from work/ to reports/ (the only role that writes there); its database secret (the
# application role's) is granted by the SAM stack that creates it.
data "aws_iam_policy_document" "persist" {
  statement {
    sid       = "ReadSummaryAndReport"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${local.prefixes.work}*"]
  }
  statement {
    sid       = "RecordTheReport"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/${local.prefixes.reports}*"]
  }
  statement {
    # A redrive after work/ expired finds its summary gone: recorded, not retried as an outage.
    sid       = "MissingMeansNotFound"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
  }
}

# The migration function (a deploy step) needs only what every function has: the database
# secrets it reads and writes are created, or passed in, and granted by the SAM stack.
data "aws_iam_policy_document" "migrate" {}

# The persist and migration functions run in the database's VPC: they manage their network
# interfaces.
resource "aws_iam_role_policy_attachment" "persist_vpc" {
  role       = aws_iam_role.function["persist"].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy_attachment" "migrate_vpc" {
  role       = aws_iam_role.function["migrate"].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role" "state_machine" {
  name               = local.state_machine_name
  assume_role_policy = data.aws_iam_policy_document.states_assume.json
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "${local.state_machine_name}-access"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid     = "InvokeTheSteps"
    actions = ["lambda:InvokeFunction"]
    resources = flatten([
      for step in ["validate", "validate-part", "summarize", "persist"] : [local.function_arns[step], "${local.function_arns[step]}:*"]
    ])
  }
  statement {
    # A Distributed Map runs each part as a child execution of this state machine, named
    # <machine>/<map run>:<child> (AWS: "IAM policies for using Distributed Map states").
    sid       = "RunTheMapsChildExecutions"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }
  statement {
    sid       = "FollowTheMapsChildExecutions"
    actions   = ["states:DescribeExecution", "states:StopExecution"]
    resources = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}/*"]
  }
  statement {
    # The map's ItemReader reads the plan's list of parts; its ResultWriter writes the results.
    sid       = "ReadThePartsWriteTheResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${local.bucket_arn}/${local.prefixes.work}*"]
  }
  statement {
    sid       = "TheBucketsKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
  statement {
    # Step Functions' log delivery and X-Ray accept only "*" (AWS: "Logging using CloudWatch Logs").
    sid = "LogsAndTracing"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
      "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }
}
