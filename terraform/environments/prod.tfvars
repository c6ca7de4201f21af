# The prod environment: terraform workspace select prod, then
#   terraform apply -var-file=environments/prod.tfvars
# region, name and environment must match samconfig.toml's prod environment (its region,
# NamePrefix and Environment tag); tests/infra/test_environments.py holds them together.
region      = "eu-west-2"
name        = "csvflow-prod"
environment = "prod"

# The network of the database and the persist function (docs/deploy.md, "Networking").
vpc_id                  = "vpc-0fedcba9876543210"
private_subnet_ids      = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
private_route_table_ids = ["rtb-0aaaaaaaaaaaaaaa1", "rtb-0bbbbbbbbbbbbbbb2"]

# Who hears of an alarm (docs/deploy.md, "Where to look"): an address AWS mails a confirmation
# link to, or "" to subscribe a pager or chat integration to the <name>-alarms topic yourself.
alarm_email = ""
