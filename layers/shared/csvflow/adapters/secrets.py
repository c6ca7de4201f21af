"""Database credentials from AWS Secrets Manager (the RDS secret format)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from csvflow.exceptions import ConfigurationError, DatabaseUnavailable

# What a secret in the RDS format may say about where the database is.
ENDPOINT_KEYS = ("host", "port", "dbname")


class SecretCredentials:
    """A database login kept in a Secrets Manager secret, read each time it is asked for.

    A secret RDS manages (``ManageMasterUserPassword``) holds only ``username`` and
    ``password``; the endpoint then comes from the arguments. A secret that also holds
    ``host``, ``port`` and ``dbname`` wins over them.
    """

    def __init__(
        self,
        client: Any,
        secret_arn: str,
        *,
        host: str | None = None,
        port: str = "5432",
        dbname: str = "postgres",
        sslmode: str = "require",
    ) -> None:
        self._client = client
        self.secret_arn = secret_arn
        self._defaults = {"host": host, "port": port, "dbname": dbname}
        self._sslmode = sslmode

    def read(self) -> dict[str, str]:
        """The login as libpq keywords (user, password, host, port, dbname, sslmode)."""
        secret = self._secret()
        endpoint = {key: secret.get(key) or self._defaults[key] for key in ENDPOINT_KEYS}
        if not endpoint["host"]:
            raise ConfigurationError(
                f"secret {self.secret_arn} has no host:"
                " set CSVFLOW_DB_HOST to the database endpoint"
            )
        return {
            "user": str(secret["username"]),
            "password": str(secret["password"]),
            **{key: str(value) for key, value in endpoint.items()},
            "sslmode": self._sslmode,
        }

    def user_and_password(self) -> tuple[str, str]:
        secret = self._secret()
        return str(secret["username"]), str(secret["password"])

    def record_endpoint(self, host: str, port: str, dbname: str) -> bool:
        """Write where the database is into the secret, so it is a whole login; True if it changed.

        The migration step does this for the application's secret, which CloudFormation
        generates with a username and password only.
        """
        secret = self._secret()
        endpoint = {"host": host, "port": int(port), "dbname": dbname}
        if all(secret.get(key) == value for key, value in endpoint.items()):
            return False
        try:
            self._client.put_secret_value(
                SecretId=self.secret_arn, SecretString=json.dumps(secret | endpoint)
            )
        except (ClientError, BotoCoreError) as e:
            raise DatabaseUnavailable(
                f"cannot update the database secret {self.secret_arn}: {type(e).__name__}"
            ) from e
        return True

    def _secret(self) -> dict[str, Any]:
        try:
            value = self._client.get_secret_value(SecretId=self.secret_arn)["SecretString"]
        except (ClientError, BotoCoreError) as e:
            # Transient (an endpoint, a throttle) or not (a missing grant): either way the
            # step fails where it can be redriven once the cause is fixed.
            raise DatabaseUnavailable(
                f"cannot read the database secret {self.secret_arn}: {type(e).__name__}"
            ) from e
        secret: dict[str, Any] = json.loads(value)
        return secret
