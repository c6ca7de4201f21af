"""Database credentials from AWS Secrets Manager (the RDS secret format)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from csvflow.exceptions import ConfigurationError


def database_url_from_secret(
    client: Any,
    secret_arn: str,
    *,
    host: str | None = None,
    port: str = "5432",
    dbname: str = "postgres",
    sslmode: str = "require",
) -> str:
    """A libpq URL from an RDS-style secret.

    A secret RDS manages (``ManageMasterUserPassword``) holds only ``username`` and
    ``password``; the endpoint then comes from the arguments. A secret that also
    holds ``host``, ``port`` and ``dbname`` wins over them.
    """
    secret = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
    host = secret.get("host") or host
    if not host:
        raise ConfigurationError(
            f"secret {secret_arn} has no host: set CSVFLOW_DB_HOST to the database endpoint"
        )
    user = quote(secret["username"], safe="")
    password = quote(secret["password"], safe="")
    port = str(secret.get("port") or port)
    dbname = quote(str(secret.get("dbname") or dbname), safe="")
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}?sslmode={sslmode}"
