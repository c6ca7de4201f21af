# One customer-managed key encrypts the bucket, the topic, the queues and the log groups.
resource "aws_kms_key" "data" {
  description             = "${var.name}: uploads, intermediates, messages and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name}-${var.environment}"
  target_key_id = aws_kms_key.data.key_id
}

data "aws_iam_policy_document" "key" {
  # checkov:skip=CKV_AWS_109: a key policy's Resource "*" means this key; the account root keeps administration, as AWS's default policy does.
  # checkov:skip=CKV_AWS_111: as above; write access is the account's, delegated through IAM.
  # checkov:skip=CKV_AWS_356: in a key policy, "*" is the key itself.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # S3 publishes to the encrypted topic and SNS delivers to the encrypted queue; CloudWatch
  # alarms publish to the encrypted alarms topic.
  statement {
    sid       = "NotificationsEncrypt"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com", "sns.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid = "LogsEncrypt"
    actions = [
      "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}
