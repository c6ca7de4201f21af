-- One row per ingested object version, with its outcome.
CREATE TABLE csvflow.ingestions (
    id              bigserial PRIMARY KEY,
    ingestion_id    text NOT NULL UNIQUE,
    bucket          text NOT NULL,
    object_key      text NOT NULL,
    object_version  text NOT NULL,
    version_id      text,
    etag            text,
    size_bytes      bigint,
    event_time      timestamptz,
    sequencer       text,
    dataset         text NOT NULL,
    status          text NOT NULL CHECK (status IN ('SUCCEEDED', 'FAILED')),
    row_count       bigint,
    rejected_rows   bigint,
    empty_rows      bigint,
    rejects_report  text,
    execution_arn   text,
    failed_step     text,
    error_type      text,
    error_cause     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bucket, object_key, object_version)
);
CREATE INDEX ingestions_key_newest ON csvflow.ingestions (object_key, event_time DESC, sequencer DESC);
CREATE INDEX ingestions_status ON csvflow.ingestions (status, updated_at DESC);

-- One row per column of a successful ingestion.
CREATE TABLE csvflow.column_profiles (
    ingestion         bigint NOT NULL REFERENCES csvflow.ingestions (id) ON DELETE CASCADE,
    position          integer NOT NULL,
    name              text NOT NULL,
    type              text NOT NULL,
    value_count       bigint NOT NULL,
    null_count        bigint NOT NULL,
    distinct_count    bigint,
    distinct_exact    boolean,
    min_value         jsonb,
    max_value         jsonb,
    mean              double precision,
    std               double precision,
    p25               double precision,
    p50               double precision,
    p75               double precision,
    quantiles_exact   boolean,
    min_length        integer,
    max_length        integer,
    top_values        jsonb,
    top_values_exact  boolean,
    true_count        bigint,
    false_count       bigint,
    PRIMARY KEY (ingestion, position)
);

-- One row per group of each declared aggregate.
CREATE TABLE csvflow.aggregates (
    ingestion   bigint NOT NULL REFERENCES csvflow.ingestions (id) ON DELETE CASCADE,
    aggregate   text NOT NULL,
    group_key   jsonb NOT NULL,
    metrics     jsonb NOT NULL
);
CREATE INDEX aggregates_by_ingestion ON csvflow.aggregates (ingestion, aggregate);
