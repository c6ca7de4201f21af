-- How each file was read (encoding, delimiter, quoting, header, where the table starts and ends)
-- and every assumption made to read it (docs/adr/0013). NULL for ingestions from before it.
ALTER TABLE csvflow.ingestions ADD COLUMN dialect jsonb;
