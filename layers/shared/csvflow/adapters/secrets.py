"""Database credentials from AWS Secrets Manager (the RDS secret format)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote


def database_url_from_secret(client: Any, secret_arn: str) -> str:
    """A libpq URL from an RDS-style secret: username, password, host, port, dbname."""
    secret = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
    user = quote(secret["username"], safe="")
    password = quote(secret["password"], safe="")
    host, port = secret["host"], secret.get("port", 5432)
    dbname = quote(secret.get("dbname", "postgres"), safe="")
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}?sslmode=require"
