"""The one place that reads the environment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from csvflow.exceptions import ConfigurationError

# (bandit B105: these are variables' names, "CSVFLOW_DB_SECRET_ARN" among them, not secrets)
_VARIABLES = {  # nosec B105
    "state_machine_arn": "CSVFLOW_STATE_MACHINE_ARN",
    "bucket": "CSVFLOW_BUCKET",
    "database_url": "DATABASE_URL",
    "db_secret_arn": "CSVFLOW_DB_SECRET_ARN",
    "db_admin_secret_arn": "CSVFLOW_DB_ADMIN_SECRET_ARN",
    "db_host": "CSVFLOW_DB_HOST",
    "db_port": "CSVFLOW_DB_PORT",
    "db_name": "CSVFLOW_DB_NAME",
    "db_sslmode": "CSVFLOW_DB_SSLMODE",
    "db_statement_timeout_seconds": "CSVFLOW_DB_STATEMENT_TIMEOUT_SECONDS",
    "max_file_bytes": "CSVFLOW_MAX_FILE_BYTES",
    "max_columns": "CSVFLOW_MAX_COLUMNS",
    "max_line_bytes": "CSVFLOW_MAX_LINE_BYTES",
    "max_rejected_share": "CSVFLOW_MAX_REJECTED_SHARE",
    "max_rejected_rows": "CSVFLOW_MAX_REJECTED_ROWS",
    "progress_log_seconds": "CSVFLOW_PROGRESS_LOG_SECONDS",
    "s3_multipart_bytes": "CSVFLOW_S3_MULTIPART_BYTES",
    "s3_read_range_bytes": "CSVFLOW_S3_READ_RANGE_BYTES",
    "split_bytes": "CSVFLOW_SPLIT_BYTES",
    "part_bytes": "CSVFLOW_PART_BYTES",
    "part_concurrency": "CSVFLOW_PART_CONCURRENCY",
    "local_workers": "CSVFLOW_LOCAL_WORKERS",
    "incoming_prefix": "CSVFLOW_INCOMING_PREFIX",
    "work_prefix": "CSVFLOW_WORK_PREFIX",
    "reports_prefix": "CSVFLOW_REPORTS_PREFIX",
    "contracts_prefix": "CSVFLOW_CONTRACTS_PREFIX",
}


CONFIGURATION_VARIABLES = tuple(_VARIABLES.values())


@dataclass(frozen=True)
class Settings:
    """Configuration of one function, read once at cold start."""

    state_machine_arn: str | None = None
    bucket: str | None = None  # the data bucket: the starter refuses events about others
    # How a function logs in: a URL, or a Secrets Manager secret (the application role's,
    # for persist), re-read when a connection is refused.
    database_url: str | None = None
    db_secret_arn: str | None = None
    # The migration step logs in as the database's owner (RDS's master user secret,
    # rotated by RDS: read again at each invocation) or with DATABASE_URL.
    db_admin_secret_arn: str | None = None
    # Where the database is, for secrets that hold only credentials (RDS-managed ones).
    db_host: str | None = None
    db_port: str = "5432"
    db_name: str = "postgres"
    db_sslmode: str = "require"
    # How long one statement (or a wait for a lock) may take before PostgreSQL cancels it
    # and the step fails as DatabaseUnavailable, which the ASL retries. Keep it well
    # below the persist function's Timeout (300 s): a Lambda killed mid-wait says less.
    db_statement_timeout_seconds: int = 60
    # Key layout of the bucket; the IaC uses the same defaults.
    incoming_prefix: str = "incoming/"
    work_prefix: str = "work/"
    reports_prefix: str = "reports/"
    contracts_prefix: str = "contracts/"
    # Size limits, checked before the work they would make expensive.
    # One validate's pass within its 15 minutes, its reject report within its /tmp (the
    # Parquet is no longer staged there: docs/adr/0026); larger files take the split path.
    max_file_bytes: int = 10 << 30
    max_columns: int = 2_000
    max_line_bytes: int = 4 << 20  # the CSV reader's block: no line may be longer
    # The share of rows a file without a contract may have rejected (ragged lines, a value
    # unlike its column's) and still succeed; a contract's max_rejected_share overrides it.
    # 1 %: a few stray lines in an export pass, while a misread (a wrong delimiter or header)
    # rejects far more than that and still fails loudly (docs/adr/0013).
    max_rejected_share: float = 0.01
    # ...or up to this many rows, while they are fewer than half of it: a stray ragged line
    # or two in a small export is the usual case, not a misread.
    max_rejected_rows: int = 5
    # How often a long validation logs how far it got (rows, bytes): in CloudWatch for an
    # operator, in the terminal for `csvflow run`. 0: after every block.
    progress_log_seconds: int = 10
    # Pieces of the Parquet the steps put and get (S3ObjectStore): 64 MiB, not boto3's 8 MiB,
    # so a split file's part (about 75 MB of Parquet) goes up in 4 requests instead of 11, and
    # a 10 GiB file's 2.8 GB still in pieces side by side (docs/scale.md).
    s3_multipart_bytes: int = 64 << 20
    # 0: the validate step streams an upload in one GET, as S3 serves it best. The local stack
    # reads in ranged GETs of 64 MB: its emulator holds a whole object for a plain GET.
    s3_read_range_bytes: int = 0
    # A file of at least split_bytes is validated in byte ranges of about part_bytes, at most
    # part_concurrency at a time, by a Distributed Map (docs/adr/0018, docs/scale.md); 0
    # never splits. The starter decides, and puts the choice in the execution's input.
    split_bytes: int = 1 << 30
    part_bytes: int = 512 << 20  # template.yaml sets the same
    part_concurrency: int = 100
    # The local runtime's, not a function's: how many Lambda invocations run at once (one in
    # its own process, the others each in a worker process; docs/adr/0019). 0: the machine's
    # cores, at most 4.
    local_workers: int = 0

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        *,
        required: Iterable[str] = (),
        one_of: Iterable[Iterable[str]] = (),
    ) -> Settings:
        """Read the settings; fail with every missing variable named."""
        values = {
            field.name: environ[_VARIABLES[field.name]]
            for field in fields(cls)
            if environ.get(_VARIABLES[field.name])
        }
        missing = [_VARIABLES[name] for name in required if name not in values]
        for group in one_of:
            names = list(group)
            if not any(name in values for name in names):
                missing.append(" or ".join(_VARIABLES[name] for name in names))
        if missing:
            raise ConfigurationError("missing environment variable(s): " + ", ".join(missing))
        typed: dict[str, object] = dict(values)
        for field in fields(cls):
            if isinstance(field.default, float) and field.name in values:
                typed[field.name] = _share(_VARIABLES[field.name], values[field.name])
            elif isinstance(field.default, int) and field.name in values:
                try:
                    typed[field.name] = int(values[field.name])
                except ValueError as e:
                    variable, value = _VARIABLES[field.name], values[field.name]
                    raise ConfigurationError(
                        f"{variable} must be a whole number, not {value!r}"
                    ) from e
        return cls(**typed)  # type: ignore[arg-type]


def _share(variable: str, value: str) -> float:
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise ConfigurationError(f"{variable} must be a number from 0 to 1, not {value!r}")
    return share
