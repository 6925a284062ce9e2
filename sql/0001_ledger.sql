-- achpipe ledger: what we were asked to pay, what we put in which file, what we uploaded,
-- what came back. Every table carries the unique key that makes a rerun of the nightly run
-- idempotent. Money is integer cents; DFI account numbers are never stored in clear
-- (ciphertext + keyed hash + last four, written by pipeline/store/protect.py).

-- One row per nightly run, keyed by (job, business date): a rerun resumes the same row.
CREATE TABLE runs (
    id            bigserial PRIMARY KEY,
    job           text        NOT NULL CHECK (job <> ''),
    business_date date        NOT NULL,
    state         text        NOT NULL DEFAULT 'running'
                  CHECK (state IN ('running', 'finished', 'failed')),
    outcome       text,                       -- e.g. ok, breaks, rate_limit, error, dry_run
    exit_code     smallint,
    attempts      integer     NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    detail        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT runs_job_business_date_key UNIQUE (job, business_date)
);

-- Step states of a run (build, seal, upload, verify, fetch, ingest, reconcile, report ...).
CREATE TABLE run_steps (
    run_id      bigint      NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step        text        NOT NULL CHECK (step <> ''),
    state       text        NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
    outcome     text,
    attempts    integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    started_at  timestamptz,
    finished_at timestamptz,
    detail      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, step)
);

-- FileIDModifier allocation: one counter row per (origin, destination, creation date).
-- The allocator bumps `allocated` with INSERT .. ON CONFLICT DO UPDATE, whose row lock
-- serialises concurrent allocators; 36 is the maximum (A-Z then 0-9).
CREATE TABLE file_id_allocations (
    immediate_origin      text    NOT NULL,
    immediate_destination text    NOT NULL,
    creation_date         date    NOT NULL,
    allocated             integer NOT NULL CHECK (allocated BETWEEN 1 AND 36),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (immediate_origin, immediate_destination, creation_date)
);

CREATE TABLE outbound_files (
    id                    bigserial PRIMARY KEY,
    run_id                bigint      REFERENCES runs (id),
    file_name             text        NOT NULL,
    sha256                text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes            bigint      NOT NULL CHECK (size_bytes >= 0),
    immediate_origin      text        NOT NULL,
    immediate_destination text        NOT NULL,
    creation_date         date        NOT NULL,
    file_id_modifier      char(1)     NOT NULL CHECK (file_id_modifier ~ '^[A-Z0-9]$'),
    batch_count           integer     NOT NULL CHECK (batch_count >= 0),
    entry_count           integer     NOT NULL CHECK (entry_count >= 0),
    total_debit_cents     bigint      NOT NULL CHECK (total_debit_cents >= 0),
    total_credit_cents    bigint      NOT NULL CHECK (total_credit_cents >= 0),
    state                 text        NOT NULL DEFAULT 'built'
                          CHECK (state IN ('built', 'sealed', 'uploaded', 'verified',
                                           'acknowledged', 'rejected')),
    sealed_sha256         text        CHECK (sealed_sha256 ~ '^[0-9a-f]{64}$'),
    remote_path           text,
    state_reason          text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outbound_files_sha256_key UNIQUE (sha256),
    CONSTRAINT outbound_files_modifier_key
        UNIQUE (immediate_origin, immediate_destination, creation_date, file_id_modifier)
);

-- Every state change of an outbound file, so the history is provable afterwards.
CREATE TABLE outbound_file_events (
    id               bigserial   PRIMARY KEY,
    outbound_file_id bigint      NOT NULL REFERENCES outbound_files (id) ON DELETE CASCADE,
    from_state       text,
    to_state         text        NOT NULL,
    reason           text,
    detail           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbound_file_events_file_idx ON outbound_file_events (outbound_file_id);

CREATE TABLE batches (
    id                        bigserial PRIMARY KEY,
    outbound_file_id          bigint   NOT NULL REFERENCES outbound_files (id) ON DELETE CASCADE,
    batch_number              integer  NOT NULL CHECK (batch_number >= 0),
    service_class_code        smallint NOT NULL CHECK (service_class_code IN (200, 220, 225, 280)),
    company_name              text     NOT NULL,
    company_id                text     NOT NULL,
    sec_code                  text     NOT NULL CHECK (sec_code ~ '^[A-Z]{3}$'),
    company_entry_description text     NOT NULL,
    effective_date            date     NOT NULL,
    settlement_date           date,
    entry_count               integer  NOT NULL CHECK (entry_count >= 0),
    total_debit_cents         bigint   NOT NULL CHECK (total_debit_cents >= 0),
    total_credit_cents        bigint   NOT NULL CHECK (total_credit_cents >= 0),
    CONSTRAINT batches_file_number_key UNIQUE (outbound_file_id, batch_number)
);

-- Forward entries we sent. company_id, sec_code and effective_date are copied from the batch
-- so the rate views and reconciliation read one table.
CREATE TABLE entries (
    id                 bigserial PRIMARY KEY,
    outbound_file_id   bigint   NOT NULL REFERENCES outbound_files (id) ON DELETE CASCADE,
    batch_id           bigint   NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    trace_number       text     NOT NULL CHECK (trace_number ~ '^[0-9]{15}$'),
    reference          text,
    transfer_id        text,     -- connectFi cFiTransactionId when known
    company_id         text     NOT NULL,
    sec_code           text     NOT NULL CHECK (sec_code ~ '^[A-Z]{3}$'),
    transaction_code   smallint NOT NULL CHECK (transaction_code BETWEEN 20 AND 99),
    amount_cents       bigint   NOT NULL CHECK (amount_cents >= 0),
    effective_date     date     NOT NULL,
    settlement_date    date,
    rdfi_routing       text     NOT NULL CHECK (rdfi_routing ~ '^[0-9]{9}$'),
    account_ciphertext bytea    NOT NULL,
    account_hash       bytea    NOT NULL CHECK (octet_length(account_hash) = 32),
    account_last4      text     NOT NULL CHECK (account_last4 ~ '^.{0,4}$'),
    individual_name    text,
    individual_id      text,
    CONSTRAINT entries_trace_effective_key UNIQUE (trace_number, effective_date)
);
CREATE INDEX entries_file_idx ON entries (outbound_file_id);
CREATE INDEX entries_batch_idx ON entries (batch_id);
CREATE INDEX entries_reference_idx ON entries (reference);
CREATE INDEX entries_transfer_idx ON entries (transfer_id);
CREATE INDEX entries_account_hash_idx ON entries (account_hash);
CREATE INDEX entries_rates_idx ON entries (company_id, sec_code, transaction_code);

-- Transfers as the connectFi API knows them (upserted from /query and /list).
CREATE TABLE transfers (
    cfi_transaction_id        text PRIMARY KEY,
    cfi_aggregator_id         text,
    reference                 text,
    client_code               text,
    status                    text        NOT NULL,
    transaction_type          text        CHECK (transaction_type IN ('Credit', 'Debit')),
    sec_code                  text,
    account_type              text,
    amount_cents              bigint      NOT NULL CHECK (amount_cents >= 0),
    currency                  text        NOT NULL DEFAULT 'USD',
    effective_date            date,
    settlement_date           date,
    created_at_api            timestamptz,
    updated_at_api            timestamptz,
    trace_number              text,
    routing_number            text,
    account_ciphertext        bytea,
    account_hash              bytea,
    account_last4             text,
    individual_name           text,
    company_entry_description text,
    return_code               text,
    return_reason             text,
    returned_at               timestamptz,
    noc_code                  text,
    noc_corrected_ciphertext  bytea,
    noc_corrected_masked      text,
    first_seen_at             timestamptz NOT NULL DEFAULT now(),
    last_seen_at              timestamptz NOT NULL DEFAULT now(),
    status_changed_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX transfers_reference_key ON transfers (cfi_aggregator_id, reference)
    WHERE reference IS NOT NULL;
CREATE INDEX transfers_trace_idx ON transfers (trace_number);
CREATE INDEX transfers_status_idx ON transfers (status);

-- Files we received (acks, returns, NOCs); one row per distinct content (sha256).
CREATE TABLE inbound_files (
    id                bigserial PRIMARY KEY,
    run_id            bigint      REFERENCES runs (id),
    file_name         text        NOT NULL,
    sha256            text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes        bigint      NOT NULL CHECK (size_bytes >= 0),
    kind              text        NOT NULL DEFAULT 'unknown'
                      CHECK (kind IN ('ack', 'return', 'noc', 'unknown')),
    state             text        NOT NULL DEFAULT 'received'
                      CHECK (state IN ('received', 'ingested', 'quarantined')),
    quarantine_reason text,
    received_at       timestamptz NOT NULL DEFAULT now(),
    ingested_at       timestamptz,
    detail            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT inbound_files_sha256_key UNIQUE (sha256),
    CONSTRAINT inbound_files_quarantine_reason
        CHECK ((state = 'quarantined') = (quarantine_reason IS NOT NULL))
);

-- Return entries (addenda 99), including dishonored (R61-R70) and contested (R71-R77).
CREATE TABLE returns (
    id                    bigserial PRIMARY KEY,
    inbound_file_id       bigint      REFERENCES inbound_files (id),
    entry_id              bigint      REFERENCES entries (id),
    trace_number          text        NOT NULL CHECK (trace_number ~ '^[0-9]{15}$'),
    original_trace_number text        NOT NULL CHECK (original_trace_number ~ '^[0-9]{15}$'),
    return_code           text        NOT NULL CHECK (return_code ~ '^R[0-9]{2}$'),
    kind                  text        NOT NULL CHECK (kind IN ('return', 'dishonor', 'contested')),
    category              text        NOT NULL,   -- as classified at ingestion (see view)
    transaction_code      smallint,
    amount_cents          bigint      NOT NULL CHECK (amount_cents >= 0),
    company_id            text,
    sec_code              text,
    original_rdfi         text,
    date_of_death         date,
    addenda_information   text,
    settlement_date       date,
    received_date         date        NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT returns_identity_key UNIQUE (original_trace_number, trace_number, return_code)
);
CREATE INDEX returns_entry_idx ON returns (entry_id);
CREATE INDEX returns_original_trace_idx ON returns (original_trace_number);

-- Notifications of Change (addenda 98). Corrected data can carry an account number, so it
-- is kept encrypted; a masked copy is kept for display.
CREATE TABLE nocs (
    id                    bigserial PRIMARY KEY,
    inbound_file_id       bigint      REFERENCES inbound_files (id),
    entry_id              bigint      REFERENCES entries (id),
    trace_number          text        NOT NULL CHECK (trace_number ~ '^[0-9]{15}$'),
    original_trace_number text        NOT NULL CHECK (original_trace_number ~ '^[0-9]{15}$'),
    change_code           text        NOT NULL CHECK (change_code ~ '^C[0-9]{2}$'),
    corrected_ciphertext  bytea       NOT NULL,
    corrected_masked      text        NOT NULL,
    company_id            text,
    sec_code              text,
    original_rdfi         text,
    received_date         date        NOT NULL,
    applied               boolean     NOT NULL DEFAULT false,
    applied_at            timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT nocs_identity_key UNIQUE (original_trace_number, trace_number, change_code)
);
CREATE INDEX nocs_entry_idx ON nocs (entry_id);

-- Return-rate snapshots, ours (computed) and the API's; sec_code '' = all SEC codes.
CREATE TABLE return_rate_snapshots (
    id                          bigserial PRIMARY KEY,
    company_id                  text    NOT NULL,
    sec_code                    text    NOT NULL DEFAULT '',
    report_date                 date    NOT NULL,
    window_from                 date,
    window_to                   date,
    source                      text    NOT NULL CHECK (source IN ('ours', 'api')),
    debits                      bigint  CHECK (debits >= 0),
    debits_ex_rck               bigint  CHECK (debits_ex_rck >= 0),
    unauthorized_returns        bigint  CHECK (unauthorized_returns >= 0),
    administrative_returns      bigint  CHECK (administrative_returns >= 0),
    overall_returns             bigint  CHECK (overall_returns >= 0),
    unauthorized_rate_pct       numeric NOT NULL,
    administrative_rate_pct     numeric NOT NULL,
    overall_rate_pct            numeric NOT NULL,
    unauthorized_days_out       integer,
    administrative_days_out     integer,
    overall_days_out            integer,
    recorded_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT return_rate_snapshots_key UNIQUE (company_id, sec_code, report_date, source)
);
