terraform {
  # 1.9: a variable's validation may refer to terraform.workspace (variables.tf)
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Application = "csvflow", Environment = var.environment }, var.tags)
  }
}
