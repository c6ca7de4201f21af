"""csvflow: turn a CSV uploaded to S3 into a validated, summarized record in PostgreSQL."""

__version__ = "0.1.0"
