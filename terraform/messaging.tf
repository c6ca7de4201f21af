# S3 -> SNS (fan-out: other subscribers may listen) -> SQS (+ DLQ) -> the starter function.
# Where every alarm of the SAM stack notifies (template.yaml reads its ARN from SSM): an
# alarm nobody hears of is a failure nobody sees. Subscribe people or a pager to it; with
# alarm_email, Terraform subscribes that address (AWS mails a confirmation link first).
resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.data.arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_sns_topic" "uploads" {
  name              = "${var.name}-uploads"
  kms_master_key_id = aws_kms_key.data.arn
}

resource "aws_sns_topic_policy" "uploads" {
  arn    = aws_sns_topic.uploads.arn
  policy = data.aws_iam_policy_document.topic.json
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "OnlyTheDataBucketPublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.uploads.arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.data.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sqs_queue" "dead_letters" {
  name                      = "${var.name}-starter-dlq"
  kms_master_key_id         = aws_kms_key.data.arn
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps, to replay poison messages
}

resource "aws_sqs_queue" "uploads" {
  name                       = "${var.name}-starter"
  kms_master_key_id          = aws_kms_key.data.arn
  visibility_timeout_seconds = 6 * var.starter_timeout_seconds # AWS: six times the function timeout
  message_retention_seconds  = 345600
  receive_wait_time_seconds  = 20
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letters.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "dead_letters" {
  queue_url = aws_sqs_queue.dead_letters.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.uploads.arn]
  })
}

resource "aws_sqs_queue_policy" "uploads" {
  queue_url = aws_sqs_queue.uploads.id
  policy    = data.aws_iam_policy_document.queue.json
}

data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "OnlyTheUploadsTopicSends"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.uploads.arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.uploads.arn]
    }
  }
}

resource "aws_sns_topic_subscription" "uploads_to_queue" {
  topic_arn            = aws_sns_topic.uploads.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.uploads.arn
  raw_message_delivery = var.raw_message_delivery
  # What SNS cannot deliver to the queue (its policy or key refuses, the queue is gone)
  # lands here after SNS's retries instead of vanishing; the SAM stack alarms on it.
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.undelivered.arn
  })
  depends_on = [aws_sqs_queue_policy.uploads, aws_sqs_queue_policy.undelivered]
}

# Upload events SNS could not deliver to the starter's queue. SQS cannot move them back
# (StartMessageMoveTask takes only the dead-letter queues of SQS queues): docs/deploy.md
# says how to replay them.
resource "aws_sqs_queue" "undelivered" {
  name                      = "${var.name}-uploads-undelivered"
  kms_master_key_id         = aws_kms_key.data.arn
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps
}

resource "aws_sqs_queue_policy" "undelivered" {
  queue_url = aws_sqs_queue.undelivered.id
  policy    = data.aws_iam_policy_document.undelivered.json
}

data "aws_iam_policy_document" "undelivered" {
  statement {
    sid       = "OnlyTheUploadsTopicDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.undelivered.arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.uploads.arn]
    }
  }
}
