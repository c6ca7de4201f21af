resource "aws_s3_bucket" "data" {
  # checkov:skip=CKV_AWS_18: access logging needs a log bucket the team already runs; set it up with aws_s3_bucket_logging where one exists.
  # checkov:skip=CKV_AWS_144: cross-region replication is a disaster-recovery choice, not a default; uploads can be replayed from their source.
  bucket = local.bucket
}

resource "aws_s3_bucket_ownership_controls" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Versioning: each upload is its own version, which is what an ingestion records and replays.
resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket     = aws_s3_bucket.data.id
  depends_on = [aws_s3_bucket_versioning.data]

  rule {
    id     = "intermediates"
    status = "Enabled"
    filter {
      prefix = local.prefixes.work
    }
    expiration {
      days = var.work_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "reject-reports"
    status = "Enabled"
    filter {
      prefix = local.prefixes.reports
    }
    expiration {
      days = var.reports_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "old-upload-versions"
    status = "Enabled"
    filter {
      prefix = local.prefixes.incoming
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  rule {
    id     = "abandoned-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  bucket     = aws_s3_bucket.data.id
  policy     = data.aws_iam_policy_document.bucket.json
  depends_on = [aws_s3_bucket_public_access_block.data]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.data.arn, "${aws_s3_bucket.data.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_notification" "uploads" {
  bucket = aws_s3_bucket.data.id

  topic {
    topic_arn     = aws_sns_topic.uploads.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = local.prefixes.incoming
    filter_suffix = var.upload_suffix != "" ? var.upload_suffix : null
  }

  # S3 checks that it may publish when the notification is saved.
  depends_on = [aws_sns_topic_policy.uploads]
}
