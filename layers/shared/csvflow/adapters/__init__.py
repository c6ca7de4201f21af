"""Adapters: the ports implemented over boto3 and psycopg2. Each takes its client."""
