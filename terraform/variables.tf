# region, name and environment have no defaults: each environment's file under environments/
# gives all three, so a plan without -var-file=environments/<env>.tfvars stops at the prompt
# instead of deploying to a region or a name nobody chose.
variable "region" {
  description = "AWS region of the environment; samconfig.toml deploys the SAM stack of the same environment there (tests/infra holds the two equal)."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name and of the SSM path /<name>/; the SAM stack's NamePrefix must match it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name: lower-case letters, digits and dashes, 2 to 31 characters."
  }
}

variable "environment" {
  description = "Environment (dev, prod, ...): its Terraform workspace has the same name, which keeps each environment's state apart."
  type        = string

  # One environment's variables applied in another's workspace would plan to replace that
  # environment's resources (or destroy them): every command, destroy included, stops here.
  validation {
    condition     = terraform.workspace == var.environment
    error_message = "These variables describe the ${var.environment} environment, but the Terraform workspace is ${terraform.workspace}, whose state belongs to another: run `terraform workspace select ${var.environment}` (`terraform workspace new ${var.environment}` the first time)."
  }
}

variable "bucket_name" {
  description = "Name of the data bucket; empty means <name>-<environment>-<account id>."
  type        = string
  default     = ""
}

variable "incoming_prefix" {
  description = "Uploads under this prefix start the workflow."
  type        = string
  default     = "incoming/"
}

variable "upload_suffix" {
  description = "Only keys ending with this start the workflow (empty: any key under incoming_prefix)."
  type        = string
  default     = ""
}

variable "work_expiration_days" {
  description = "Days the Parquet intermediates under work/ are kept."
  type        = number
  default     = 7
}

variable "reports_expiration_days" {
  description = "Days the reject reports under reports/ are kept."
  type        = number
  default     = 90
}

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten upload's old version is kept (for replays)."
  type        = number
  default     = 30
}

variable "raw_message_delivery" {
  description = "SNS delivers the bare S3 event to SQS; the starter reads either form."
  type        = bool
  default     = true
}

variable "starter_timeout_seconds" {
  description = "The starter function's timeout in template.yaml; the queue's visibility timeout is six times it, as AWS advises."
  type        = number
  default     = 60
}

variable "max_receive_count" {
  description = "Receives of a message before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5
}

variable "alarm_email" {
  description = "An address subscribed to the alarms topic (empty: subscribe someone yourself)."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "vpc_id" {
  description = "VPC of the database and the persist function (published for the SAM stack)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets, in at least two availability zones, for the database and the persist function."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "RDS needs subnets in at least two availability zones."
  }
}

variable "private_route_table_ids" {
  description = "Route tables of the private subnets: the SAM stack adds the S3 gateway endpoint's route to them (or finds one there, VpcHasS3GatewayEndpoint)."
  type        = list(string)

  validation {
    condition     = length(var.private_route_table_ids) >= 1
    error_message = "Without a route to S3 the persist function's reads hang until it times out: give the private subnets' route tables."
  }
}
