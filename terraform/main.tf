data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  bucket     = var.bucket_name != "" ? var.bucket_name : "${var.name}-${var.environment}-${local.account_id}"

  # The SAM stack names its functions and state machine after var.name, so the roles
  # here can name exactly what they may call before the SAM stack exists.
  functions = {
    starter  = "${var.name}-starter"
    validate = "${var.name}-validate"
    # A split file's parts (docs/adr/0025): validate's code in a function of their own.
    validate-part = "${var.name}-validate-part"
    summarize     = "${var.name}-summarize"
    persist       = "${var.name}-persist"
    migrate       = "${var.name}-migrate"
  }
  function_arns      = { for key, fn in local.functions : key => "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${fn}" }
  state_machine_name = "${var.name}-ingest"
  state_machine_arn  = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_name}"

  # Key layout of the bucket (the package's defaults).
  prefixes = {
    incoming  = var.incoming_prefix
    contracts = "contracts/"
    work      = "work/"
    reports   = "reports/"
  }
}
