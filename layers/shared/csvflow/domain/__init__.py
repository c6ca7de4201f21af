"""The domain: reading, validating and summarizing CSV data. No AWS, no SQL here."""
