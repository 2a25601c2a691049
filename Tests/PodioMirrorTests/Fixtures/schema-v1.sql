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

-- Safe conversions used when field values are normalized: Podio's data can carry values of an
-- unexpected shape, which must never fail a page. Each returns NULL for text it cannot read.
-- They are plain SQL functions, so the planner inlines them.
CREATE OR REPLACE FUNCTION podio.to_numeric(t text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~ '^\s*[-+]?[0-9]{1,100}(\.[0-9]{1,100})?\s*$' THEN t::numeric END
$$;

CREATE OR REPLACE FUNCTION podio.to_bigint(t text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~ '^-?[0-9]{1,18}$' THEN t::bigint END
$$;

-- `YYYY-MM-DD` (a calendar date that exists) or NULL.
CREATE OR REPLACE FUNCTION podio.to_date(t text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' THEN
        CASE WHEN substr(t, 9, 2)::int <= extract(day FROM make_date(substr(t, 1, 4)::int, substr(t, 6, 2)::int, 1)
                                                   + interval '1 month - 1 day')::int
             THEN make_date(substr(t, 1, 4)::int, substr(t, 6, 2)::int, substr(t, 9, 2)::int) END
    END
$$;

-- Podio's `YYYY-MM-DD HH:MM:SS` (or `YYYY-MM-DD`), always UTC, or NULL.
CREATE OR REPLACE FUNCTION podio.to_utc(t text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}( ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])?$' THEN
        (podio.to_date(substr(t, 1, 10))::timestamp
         + CASE WHEN length(t) = 19 THEN substr(t, 12, 8)::interval ELSE interval '0' END) AT TIME ZONE 'UTC'
    END
$$;

-- Field values: how each Podio field type maps onto the typed columns of podio.item_values.
-- `t` is the field type, `v` one entry of the field's `values` array as Podio sent it.
CREATE OR REPLACE FUNCTION podio.json_array(j jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(j) = 'array' THEN j ELSE '[]'::jsonb END
$$;

CREATE OR REPLACE FUNCTION podio.page_without_items() RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the Podio page has no "items" array';
END
$$;

-- All-day dates have no time: Podio sends the time keys as null (or leaves them out).
CREATE OR REPLACE FUNCTION podio.date_is_all_day(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN v ? 'start_time_utc' THEN v->>'start_time_utc' IS NULL
        WHEN v ? 'start_time' THEN v->>'start_time' IS NULL
        ELSE coalesce(length(v->>'start_utc'), length(v->>'start'), 10) = 10
    END
$$;

CREATE OR REPLACE FUNCTION podio.value_text(t text, v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN t IN ('text', 'email', 'phone', 'tel', 'state', 'tag') AND jsonb_typeof(v->'value') = 'string' THEN v->>'value'
        WHEN t IN ('category', 'question') THEN v->'value'->>'text'
        WHEN t = 'app' THEN v->'value'->>'title'
        WHEN t = 'contact' THEN v->'value'->>'name'
        WHEN t = 'location' THEN coalesce(v->>'formatted', CASE WHEN jsonb_typeof(v->'value') = 'string' THEN v->>'value' END)
        WHEN t = 'embed' THEN coalesce(v->'embed'->>'resolved_url', v->'embed'->>'url', v->'embed'->>'original_url')
        WHEN t IN ('image', 'file') THEN v->'value'->>'name'
        WHEN t = 'calculation' AND jsonb_typeof(v->'value') = 'string' AND podio.to_numeric(v->>'value') IS NULL THEN v->>'value'
    END
$$;

CREATE OR REPLACE FUNCTION podio.value_number(t text, v jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN t IN ('number', 'money', 'calculation', 'progress', 'duration')
             AND jsonb_typeof(v->'value') IN ('string', 'number') THEN podio.to_numeric(v->>'value')
    END
$$;

CREATE OR REPLACE FUNCTION podio.value_ref(t text, v jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN t IN ('category', 'question') THEN podio.to_bigint(v->'value'->>'id')
        WHEN t = 'app' THEN podio.to_bigint(v->'value'->>'item_id')
        WHEN t = 'contact' THEN podio.to_bigint(v->'value'->>'profile_id')
        WHEN t IN ('image', 'file') THEN podio.to_bigint(v->'value'->>'file_id')
        WHEN t = 'embed' THEN podio.to_bigint(v->'embed'->>'embed_id')
    END
$$;

CREATE OR REPLACE FUNCTION podio.value_start(t text, v jsonb) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IN ('date', 'calculation') AND NOT podio.date_is_all_day(v) THEN podio.to_utc(v->>'start_utc') END
$$;

CREATE OR REPLACE FUNCTION podio.value_end(t text, v jsonb) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IN ('date', 'calculation') AND NOT podio.date_is_all_day(v) THEN podio.to_utc(v->>'end_utc') END
$$;

-- The date of a value: the UTC date of a timed value, the date itself of an all-day value
-- (all-day dates are not moved across time zones).
CREATE OR REPLACE FUNCTION podio.value_start_date(t text, v jsonb) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IN ('date', 'calculation') THEN
        CASE WHEN podio.date_is_all_day(v)
             THEN podio.to_date(coalesce(v->>'start_date', v->>'start_date_utc', left(v->>'start', 10)))
             ELSE (podio.to_utc(v->>'start_utc') AT TIME ZONE 'UTC')::date END
    END
$$;

CREATE OR REPLACE FUNCTION podio.value_end_date(t text, v jsonb) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IN ('date', 'calculation') THEN
        CASE WHEN podio.date_is_all_day(v)
             THEN podio.to_date(coalesce(v->>'end_date', v->>'end_date_utc', left(v->>'end', 10)))
             ELSE (podio.to_utc(v->>'end_utc') AT TIME ZONE 'UTC')::date END
    END
$$;

CREATE OR REPLACE FUNCTION podio.value_kind(t text, v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN t = 'money' THEN v->>'currency'
        WHEN t IN ('email', 'phone') THEN v->>'type'
        WHEN t = 'contact' THEN v->'value'->>'type'
    END
$$;

-- True when a value of a known type yielded nothing typed (an unexpected shape), or the type
-- is unknown: the raw JSON keeps it and the sync warns.
CREATE OR REPLACE FUNCTION podio.value_is_unreadable(t text, v jsonb, vtext text, vnumber numeric, vref bigint,
                                                     vstart timestamptz, vdate date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN t IN ('text', 'email', 'phone', 'tel', 'location') THEN vtext IS NULL
        WHEN t IN ('number', 'money', 'progress', 'duration') THEN vnumber IS NULL
        WHEN t IN ('category', 'app', 'contact', 'image', 'file') THEN vref IS NULL
        WHEN t = 'date' THEN vstart IS NULL AND vdate IS NULL
        WHEN t = 'calculation' THEN vnumber IS NULL AND vtext IS NULL AND vstart IS NULL AND vdate IS NULL
        WHEN t = 'embed' THEN vtext IS NULL AND vref IS NULL
        ELSE true
    END
$$;

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
    pid                 integer,
    backend_pid         integer           -- the run's database session; a 'running' run whose
                                          -- session is gone was interrupted
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
    external_calls    integer,            -- calls the server counted that the ledger did not make
    external_until    timestamptz,        -- when those leave the window
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

-- Typed views (ViewBuilder): a timed date column reads `value_start_date + time of day` (UTC),
-- which also covers all-day values in fields whose time is optional. This index has exactly that
-- expression, so a range filter on such a column (`WHERE due < now() + interval '7 days'`) is an
-- index scan. Keep it identical to `ViewDefinition.moment` in ViewBuilder+Columns.swift.
CREATE INDEX IF NOT EXISTS item_values_field_moment_idx ON podio.item_values
    (field_id, ((value_start_date + coalesce((value_start AT TIME ZONE 'UTC') - value_start_date, interval '0')) AT TIME ZONE 'UTC'))
    WHERE value_start_date IS NOT NULL;

INSERT INTO podio.schema_version (singleton, version) VALUES (true, 1)
ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, applied_at = now()
WHERE podio.schema_version.version < EXCLUDED.version;
