-- Acting on what comes back (issue 9): payees (receivers) and their history, NOC
-- applications with maker-checker fields and deadlines, the audit of return actions, and
-- re-initiation (RETRY PYMT) tracking. Account numbers are stored as the ledger stores them:
-- AES-GCM ciphertext + keyed hash + last four (pipeline/store/protect.py), never in clear.

-- One receiver, keyed by the originator's reference for it (identification number or a
-- reference prefix, see [actions] payee_key). status: active | blocked (until new account
-- details) | needs_authorization (until a new authorization is recorded).
CREATE TABLE payees (
    id                    bigserial   PRIMARY KEY,
    payee_ref             text        NOT NULL CHECK (payee_ref <> ''),
    company_id            text,                    -- originator last seen for this payee
    routing_number        text        NOT NULL CHECK (routing_number ~ '^[0-9]{9}$'),
    account_ciphertext    bytea       NOT NULL,
    account_hash          bytea       NOT NULL CHECK (octet_length(account_hash) = 32),
    account_last4         text        NOT NULL CHECK (account_last4 ~ '^.{0,4}$'),
    account_type          text        NOT NULL
                          CHECK (account_type IN ('checking', 'savings', 'general_ledger', 'loan')),
    individual_name       text,
    identification_number text,
    required_sec_code     text        CHECK (required_sec_code ~ '^[A-Z]{3}$'),  -- C14: IAT
    status                text        NOT NULL DEFAULT 'active'
                          CHECK (status IN ('active', 'blocked', 'needs_authorization')),
    status_code           text,                    -- the R-code that set the status
    status_reason         text,
    status_changed_at     timestamptz NOT NULL DEFAULT now(),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payees_ref_key UNIQUE (payee_ref),
    CONSTRAINT payees_status_reason CHECK ((status = 'active') = (status_reason IS NULL))
);
CREATE INDEX payees_account_hash_idx ON payees (account_hash);

-- Every change of a payee: which field, old and new value (accounts: masked value plus the
-- keyed hash, so a later transfer carrying a superseded account is recognised), who, why.
CREATE TABLE payee_history (
    id          bigserial   PRIMARY KEY,
    payee_id    bigint      NOT NULL REFERENCES payees (id) ON DELETE CASCADE,
    field       text        NOT NULL,
    old_value   text,
    new_value   text,
    old_hash    bytea,
    new_hash    bytea,
    source      text        NOT NULL
                CHECK (source IN ('enrol', 'transfer', 'noc', 'return', 'authorization', 'manual')),
    source_id   bigint,                              -- noc_applications.id / returns.id
    changed_by  text        NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    detail      jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX payee_history_payee_idx ON payee_history (payee_id);

-- One row per NOC received: how it is being applied. state:
--   queued            maker-checker: waiting for someone to propose it
--   pending_approval  maker-checker: proposed, waiting for a second person
--   applied           the payee was changed (auto, or approved)
--   rejected          a checker refused the proposal (reason required)
--   quarantined       the corrected data is malformed or no payee matches: nothing applied
--   informational     nothing to change (C13, C08/C10-C12, refused C61-C69)
CREATE TABLE noc_applications (
    id                  bigserial   PRIMARY KEY,
    noc_id              bigint      NOT NULL REFERENCES nocs (id),
    payee_id            bigint      REFERENCES payees (id),
    change_code         text        NOT NULL CHECK (change_code ~ '^C[0-9]{2}$'),
    mode                text        NOT NULL CHECK (mode IN ('auto', 'maker_checker')),
    state               text        NOT NULL
                        CHECK (state IN ('queued', 'pending_approval', 'applied', 'rejected',
                                         'quarantined', 'informational')),
    received_date       date        NOT NULL,
    deadline            date        NOT NULL,        -- 6 banking days after receipt
    corrected_masked    text        NOT NULL,
    fields              text[]      NOT NULL DEFAULT '{}',
    proposed_by         text,
    proposed_at         timestamptz,
    decided_by          text,                        -- approver (applied) or rejecter
    decided_at          timestamptz,
    applied_at          timestamptz,
    reason              text,                        -- quarantine/rejection reason
    error_rule          text,                        -- CorrectionError.rule when quarantined
    repeat_of           bigint      REFERENCES noc_applications (id),
    repeat_entry_id     bigint      REFERENCES entries (id),  -- entry sent after the deadline
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT noc_applications_noc_key UNIQUE (noc_id),
    CONSTRAINT noc_applications_four_eyes CHECK (
        mode <> 'maker_checker' OR state <> 'applied'
        OR (decided_by IS NOT NULL AND proposed_by IS NOT NULL AND decided_by <> proposed_by)),
    CONSTRAINT noc_applications_reason CHECK (
        state NOT IN ('rejected', 'quarantined') OR reason IS NOT NULL)
);
CREATE INDEX noc_applications_payee_idx ON noc_applications (payee_id);
CREATE INDEX noc_applications_state_idx ON noc_applications (state);

-- The audit of return actions: exactly one row per return acted on (reruns are no-ops).
--   action: retry_allowed | block_until_new_account | block_until_new_authorization |
--           stop_payment | review
CREATE TABLE return_actions (
    id           bigserial   PRIMARY KEY,
    return_id    bigint      NOT NULL REFERENCES returns (id),
    entry_id     bigint      REFERENCES entries (id),
    payee_id     bigint      REFERENCES payees (id),
    company_id   text,
    reference    text,
    return_code  text        NOT NULL CHECK (return_code ~ '^R[0-9]{2}$'),
    action       text        NOT NULL
                 CHECK (action IN ('retry_allowed', 'block_until_new_account',
                                   'block_until_new_authorization', 'stop_payment', 'review')),
    outcome      text        NOT NULL,              -- what was done, for people
    business_date date       NOT NULL,
    acted_by     text        NOT NULL,
    acted_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT return_actions_return_key UNIQUE (return_id)
);
CREATE INDEX return_actions_reference_idx ON return_actions (reference);

-- Re-initiations (RETRY PYMT) of R01/R09 returns: at most two per original entry within
-- 180 days of its settlement (effective date when the settlement is unknown).
--   state: planned (proposed, to be built) | sent (built into a file) | cancelled (the payee
--          was blocked or the payment stopped) | refused (the rules forbid it; reason says
--          which — kept so the refusal is decided once and audited)
CREATE TABLE reinitiations (
    id                 bigserial   PRIMARY KEY,
    original_entry_id  bigint      NOT NULL REFERENCES entries (id),
    return_id          bigint      NOT NULL REFERENCES returns (id),
    attempt            smallint    NOT NULL CHECK (attempt BETWEEN 1 AND 3),
    payee_ref          text,
    company_id         text        NOT NULL,
    company_name       text        NOT NULL,
    amount_cents       bigint      NOT NULL CHECK (amount_cents > 0),
    original_reference text,
    retry_reference    text,
    planned_date       date,
    latest_date        date        NOT NULL,
    state              text        NOT NULL DEFAULT 'planned'
                       CHECK (state IN ('planned', 'sent', 'cancelled', 'refused')),
    reason             text,
    entry_id           bigint      REFERENCES entries (id),
    planned_by         text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reinitiations_return_key UNIQUE (return_id),
    CONSTRAINT reinitiations_reference_key UNIQUE (retry_reference),
    CONSTRAINT reinitiations_refused CHECK ((state = 'refused') = (reason IS NOT NULL)),
    CONSTRAINT reinitiations_planned CHECK (
        state = 'refused' OR (attempt <= 2 AND retry_reference IS NOT NULL
                              AND planned_date IS NOT NULL AND planned_date <= latest_date))
);
CREATE UNIQUE INDEX reinitiations_attempt_key ON reinitiations (original_entry_id, attempt)
    WHERE state IN ('planned', 'sent');
CREATE INDEX reinitiations_entry_idx ON reinitiations (entry_id);
