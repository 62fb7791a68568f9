-- Jigsaw on PostgreSQL: schools (tenants) and the store, every row keyed by school.
CREATE TABLE schools (
    id            text PRIMARY KEY,
    name          text NOT NULL DEFAULT '',
    settings      jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- The ledger's head: every archive write locks this row, so one school's
    -- ledger lines come in order from any number of app instances.
    ledger_n      bigint NOT NULL DEFAULT -1,
    ledger_mac    text NOT NULL DEFAULT '',
    ledger_at     text NOT NULL DEFAULT '',
    live          bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    school      text NOT NULL REFERENCES schools(id),
    id          text NOT NULL,
    user_id     text,
    status      text,
    updated_at  text NOT NULL DEFAULT '',
    body        text NOT NULL,
    PRIMARY KEY (school, id)
);
CREATE INDEX sessions_user ON sessions (school, user_id, updated_at DESC);

-- Idempotency: a key is claimed once, by the unique constraint.
CREATE TABLE claims (
    school  text NOT NULL REFERENCES schools(id),
    key     text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school, key)
);
CREATE INDEX claims_at ON claims (at);

CREATE TABLE meta (
    school  text NOT NULL REFERENCES schools(id),
    key     text NOT NULL,
    body    text NOT NULL,
    PRIMARY KEY (school, key)
);

-- The highest record number given out per year: never lowered, so a purged
-- id is never given out again.
CREATE TABLE counters (
    school  text NOT NULL REFERENCES schools(id),
    year    integer NOT NULL,
    high    integer NOT NULL,
    PRIMARY KEY (school, year)
);

CREATE TABLE records (
    school          text NOT NULL REFERENCES schools(id),
    id              text NOT NULL,
    year            integer NOT NULL,
    seq             integer NOT NULL,
    session_id      text,
    created_at      text NOT NULL,
    updated_at      text,
    recorded_by     text,
    child_ref       text,
    decision        text,
    status          text,
    review_status   text,
    delivery        text,
    -- delivery->>'state', for the outbox's question (Store.list_records).
    delivery_state  text,
    body            text NOT NULL,
    PRIMARY KEY (school, id),
    UNIQUE (school, year, seq),
    -- A session becomes at most one record, whichever instance submits it.
    UNIQUE (school, session_id)
);
CREATE INDEX records_newest ON records (school, created_at DESC, year DESC, seq DESC);
CREATE INDEX records_by ON records (school, recorded_by, created_at DESC, year DESC, seq DESC);
CREATE INDEX records_review ON records (school, review_status, created_at DESC, year DESC, seq DESC);
-- The outbox: records not yet posted (or held on purpose), as the service
-- asks for them; any other set of states is answered without it.
CREATE INDEX records_outbox ON records (school, created_at DESC)
    WHERE delivery_state IS NULL OR delivery_state <> ALL (ARRAY['held', 'posted']::text[]);

-- The keyed ledger, one chain per school (same lines as ledger.jsonl).
CREATE TABLE ledger (
    school  text NOT NULL REFERENCES schools(id),
    n       bigint NOT NULL,
    entry   text NOT NULL,
    PRIMARY KEY (school, n)
);
