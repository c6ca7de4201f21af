# The dev environment: terraform workspace select dev, then
#   terraform apply -var-file=environments/dev.tfvars
# region, name and environment must match samconfig.toml's default environment (its region,
# NamePrefix and Environment tag); tests/infra/test_environments.py holds them together.
region      = "eu-west-2"
name        = "csvflow"
environment = "dev"

# The network of the database and the persist function (docs/deploy.md, "Networking").
vpc_id                  = "vpc-0123456789abcdef0"
private_subnet_ids      = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
private_route_table_ids = ["rtb-0123456789abcdef0"]

# Who hears of an alarm (docs/deploy.md, "Where to look"): an address AWS mails a confirmation
# link to, or "" to subscribe a pager or chat integration to the <name>-alarms topic yourself.
alarm_email = ""
