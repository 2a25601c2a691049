-- podio-mirror database schema: the one source of truth.
--
-- `podio-mirror migrate` applies exactly this file (it is compiled into the binary), inside one
-- transaction, under an advisory lock. Every statement is idempotent, so the file upgrades any
-- older version in place: new columns are added with ADD COLUMN IF NOT EXISTS, never by editing
-- an earlier CREATE TABLE in a way older databases would miss. Bump the version on the last line
-- when the file changes.
--
-- schema-version: 1

CREATE SCHEMA IF NOT EXISTS podio;
CREATE SCHEMA IF NOT EXISTS podio_views;
-- OAuth tokens live apart from the mirror: a role that may read `podio` and `podio_views`
-- cannot read them unless granted this schema explicitly (README, "Security").
CREATE SCHEMA IF NOT EXISTS podio_auth;
REVOKE ALL ON SCHEMA podio_auth FROM PUBLIC;

CREATE TABLE IF NOT EXISTS podio.schema_version (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version     integer NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- Apps (Podio "applications"): one row per mirrored app. `raw` is the app as received, less
-- its `token` (an app token is a credential and is never stored in the mirror).
CREATE TABLE IF NOT EXISTS podio.apps (
    app_id        bigint PRIMARY KEY,
    space_id      bigint,
    name          text NOT NULL,          -- HTML entities decoded
    item_name     text,
    url_label     text,
    status        text NOT NULL,          -- active, inactive, deleted
    app_revision  integer,                -- Podio's current_revision of the definition
    raw           jsonb NOT NULL,
    view_name     text,                   -- podio_views.<view_name>, set by the view builder
    synced_at     timestamptz NOT NULL DEFAULT now()
);

-- Field definitions, deleted ones included (status = 'deleted'): never dropped.
CREATE TABLE IF NOT EXISTS podio.app_fields (
    field_id     bigint PRIMARY KEY,
    app_id       bigint NOT NULL REFERENCES podio.apps (app_id) ON DELETE CASCADE,
    external_id  text,
    label        text,
    type         text NOT NULL,
    status       text NOT NULL,           -- active, deleted
    position     integer,                 -- config.delta, Podio's display order
    config       jsonb NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS app_fields_app_idx ON podio.app_fields (app_id);

-- Items: one row per item ever seen. `raw` is the item exactly as Podio sent it.
-- `deleted_at` is NULL while the item is live in Podio (soft delete).
CREATE TABLE IF NOT EXISTS podio.items (
    item_id        bigint PRIMARY KEY,
    app_id         bigint NOT NULL REFERENCES podio.apps (app_id) ON DELETE CASCADE,
    app_item_id    bigint,
    title          text,
    revision       integer NOT NULL,      -- current_revision.revision
    created_on     timestamptz,
    last_edit_on   timestamptz,           -- current_revision.created_on
    last_event_on  timestamptz,           -- moves on comments and files too
    comment_count  integer,
    file_count     integer,
    raw            jsonb NOT NULL,
    deleted_at     timestamptz,
    synced_at      timestamptz NOT NULL DEFAULT now(),   -- last time the row was written
    run_id         bigint                 -- the run that last wrote it
);
CREATE INDEX IF NOT EXISTS items_app_live_idx ON podio.items (app_id, item_id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS items_app_last_edit_idx ON podio.items (app_id, last_edit_on);
CREATE INDEX IF NOT EXISTS items_title_lower_idx ON podio.items (app_id, lower(title));

-- One row per field value of a live item version, typed for SQL. Rewritten when the item's
-- revision changes; `value` keeps the value object as received.
CREATE TABLE IF NOT EXISTS podio.item_values (
    item_id          bigint NOT NULL REFERENCES podio.items (item_id) ON DELETE CASCADE,
    field_id         bigint NOT NULL,
    app_id           bigint NOT NULL,
    position         integer NOT NULL,    -- 0-based order within a multi-valued field
    type             text NOT NULL,
    value_text       text,                -- text, category option text, email, phone, location, embed URL, file name
    value_number     numeric,             -- number, money, progress, duration (seconds), numeric calculation
    value_ref        bigint,              -- category option id, referenced item id, profile id, file id, embed id
    value_start      timestamptz,         -- timed date start (UTC)
    value_end        timestamptz,         -- timed date end (UTC)
    value_start_date date,                -- date part (all-day values and timed ones, UTC)
    value_end_date   date,
    value_kind       text,                -- currency, email/phone type, contact type
    value            jsonb NOT NULL,
    PRIMARY KEY (item_id, field_id, position)
);
CREATE INDEX IF NOT EXISTS item_values_field_number_idx ON podio.item_values (field_id, value_number) WHERE value_number IS NOT NULL;
CREATE INDEX IF NOT EXISTS item_values_field_text_idx ON podio.item_values (field_id, value_text) WHERE value_text IS NOT NULL;
CREATE INDEX IF NOT EXISTS item_values_field_ref_idx ON podio.item_values (field_id, value_ref) WHERE value_ref IS NOT NULL;
CREATE INDEX IF NOT EXISTS item_values_field_start_idx ON podio.item_values (field_id, value_start) WHERE value_start IS NOT NULL;
CREATE INDEX IF NOT EXISTS item_values_field_date_idx ON podio.item_values (field_id, value_start_date) WHERE value_start_date IS NOT NULL;

-- Per-app sync state: the checkpoint of an unfinished full pass and the delta high-water mark.
CREATE TABLE IF NOT EXISTS podio.sync_state (
    app_id              bigint PRIMARY KEY REFERENCES podio.apps (app_id) ON DELETE CASCADE,
    high_water_mark     timestamptz,      -- delta: every edit up to here is mirrored
    last_full_sync_at   timestamptz,
    last_delta_sync_at  timestamptz,
    full_pass_run_id    bigint,           -- non-NULL while a full pass is unfinished
    full_pass_cutoff    timestamptz,      -- the pass reads items created up to here
    full_pass_offset    integer,          -- next offset of the unfinished pass
    full_pass_filtered  integer,          -- Podio's `filtered` at the last committed page
    last_podio_total    integer,          -- Podio's `total` at the last page read
    last_error          text,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Item ids seen by the unfinished full pass of an app (deletion detection survives a resume).
CREATE TABLE IF NOT EXISTS podio.full_pass_seen (
    app_id   bigint NOT NULL,
    item_id  bigint NOT NULL,
    PRIMARY KEY (app_id, item_id)
);

-- One row per run of `sync`, `resync` or the scheduler's runs.
CREATE TABLE IF NOT EXISTS podio.sync_runs (
    run_id              bigserial PRIMARY KEY,
    kind                text NOT NULL,    -- sync, resync, sync-dry-run, resync-dry-run
    status              text NOT NULL,    -- running, succeeded, failed, deferred
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    apps                bigint[] NOT NULL DEFAULT '{}',
    calls_rate_limited  integer NOT NULL DEFAULT 0,
    calls_general       integer NOT NULL DEFAULT 0,
    items_seen          integer NOT NULL DEFAULT 0,
    items_written       integer NOT NULL DEFAULT 0,
    items_unchanged     integer NOT NULL DEFAULT 0,
    items_deleted       integer NOT NULL DEFAULT 0,
    deletions_found_by  text,             -- full pass, id sweep, none
    deferred_until      timestamptz,
    error               text,
    host                text,
    pid                 integer
);
CREATE INDEX IF NOT EXISTS sync_runs_started_idx ON podio.sync_runs (started_at DESC);

-- The quota ledger: one row per Podio call made. `credential` is a non-secret identity key.
CREATE TABLE IF NOT EXISTS podio.api_calls (
    call_id     bigserial PRIMARY KEY,
    credential  text NOT NULL,
    tier        text NOT NULL,            -- rate_limited, general
    endpoint    text NOT NULL,
    called_at   timestamptz NOT NULL,
    status      integer,                  -- HTTP status, NULL until the answer came
    run_id      bigint
);
CREATE INDEX IF NOT EXISTS api_calls_window_idx ON podio.api_calls (credential, tier, called_at);

-- What the ledger learned from Podio's headers and 420s, per credential and tier.
CREATE TABLE IF NOT EXISTS podio.quota_state (
    credential        text NOT NULL,
    tier              text NOT NULL,
    limit_seen        integer,            -- X-Rate-Limit-Limit
    remaining_seen    integer,            -- X-Rate-Limit-Remaining
    remaining_seen_at timestamptz,
    paused_until      timestamptz,        -- after a 420
    pause_reason      text,
    PRIMARY KEY (credential, tier)
);

-- Each endpoint's tier, learned from X-Rate-Limit-Limit.
CREATE TABLE IF NOT EXISTS podio.endpoint_tiers (
    endpoint    text PRIMARY KEY,
    tier        text NOT NULL,
    limit_seen  integer,
    learned_at  timestamptz NOT NULL DEFAULT now()
);

-- OAuth tokens (refresh tokens rotate: each new pair replaces the old one in one statement).
CREATE TABLE IF NOT EXISTS podio_auth.oauth_tokens (
    credential     text PRIMARY KEY,
    access_token   text NOT NULL,
    refresh_token  text,
    expires_at     timestamptz NOT NULL,
    ref_type       text,
    ref_id         bigint,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON podio_auth.oauth_tokens FROM PUBLIC;

INSERT INTO podio.schema_version (singleton, version) VALUES (true, 1)
ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, applied_at = now()
WHERE podio.schema_version.version < EXCLUDED.version;
