-- podio-mirror database schema: the one source of truth.
--
-- `podio-mirror migrate` applies exactly this file (it is compiled into the binary), inside one
-- transaction, under an advisory lock. Every statement is idempotent, so the file upgrades any
-- older version in place: new columns are added with ADD COLUMN IF NOT EXISTS, never by editing
-- an earlier CREATE TABLE in a way older databases would miss. Bump the version on the last line
-- when the file changes; steps that need more than SQL (filling the app tables) are taken by
-- SchemaMigrator after this file, in the same transaction.
--
-- Versions: 1, the first version (podio.item_values and views in podio_views); 2, one real table
-- per app in podio_apps (item_values and the views are dropped, the tables filled from raw JSON);
-- 3, the legacy field types typed (`state` text, `tag` text[], `member` bigint[] of user ids;
-- their jsonb columns are retyped and filled again from the raw JSON by the migration); 4, item
-- history, comments and files (podio.item_versions, podio.comments, podio.files), the token
-- endpoint's pacing (podio_auth.token_requests), and the sweep, deletion and error columns; 5,
-- webhooks; 6 (issues 23 and 27), the quota ledger books a call whose tier is not known yet on
-- both tiers (podio.api_calls.both_tiers), per-object failures of the extras
-- (podio.extra_failures: comments, file downloads, deep history), the back-off of hook
-- re-verification (podio.hooks.verify_attempts, next_verify_at), and for the people who query
-- the mirror: the comments podio-mirror wrote on the app tables and their columns
-- (podio.apps.table_comment, podio.app_columns.comment), podio.app_references, podio.profiles,
-- podio.spaces and podio.orgs.
--
-- schema-version: 6

CREATE SCHEMA IF NOT EXISTS podio;
-- One real table per mirrored app (AppTableStore); podio-mirror owns every table in it.
CREATE SCHEMA IF NOT EXISTS podio_apps;
-- OAuth tokens live apart from the mirror: a role that may read `podio` and `podio_apps`
-- cannot read them unless granted this schema explicitly (docs/security.md).
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
        -- A legacy member: the user id (Podio's sub_id), or the user_id of a user object.
        WHEN t = 'member' THEN CASE WHEN jsonb_typeof(v->'value') = 'object' THEN podio.to_bigint(v->'value'->>'user_id')
                                    WHEN jsonb_typeof(v->'value') IN ('number', 'string') THEN podio.to_bigint(v->>'value') END
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

-- The typed columns of the app tables: `t` is the field's type, `vals` the field's `values`
-- array as Podio sent it (NULL when the item has no such field). ColumnKind (Swift) decides
-- which function fills which column. A field without a value, or with a value of a shape these
-- cannot read, gives NULL, never an error; multi-valued columns are NULL when empty, never '{}'.
CREATE OR REPLACE FUNCTION podio.col_text(t text, vals jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT podio.value_text(t, vals -> 0)
$$;

CREATE OR REPLACE FUNCTION podio.col_numeric(t text, vals jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT podio.value_number(t, vals -> 0)
$$;

CREATE OR REPLACE FUNCTION podio.col_currency(t text, vals jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t = 'money' AND jsonb_typeof(vals -> 0 -> 'currency') = 'string' THEN vals -> 0 ->> 'currency' END
$$;

-- Progress: a whole number; an absurd value reads as NULL instead of failing the page. Written
-- as one expression (no FROM), so that the planner inlines it: a call costs more than reading
-- the number twice.
CREATE OR REPLACE FUNCTION podio.col_integer(t text, vals jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN podio.value_number(t, vals -> 0) BETWEEN -2147483648 AND 2147483647
                THEN round(podio.value_number(t, vals -> 0))::integer END
$$;

-- Duration: seconds as an interval (93784 → 26:03:04); inlined like col_integer.
CREATE OR REPLACE FUNCTION podio.col_interval(t text, vals jsonb) RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN abs(podio.value_number(t, vals -> 0)) < 1e15
                THEN make_interval(secs => podio.value_number(t, vals -> 0)::double precision) END
$$;

-- A timed date (`side` start or end): the UTC instant, or midnight UTC of an all-day value (a
-- field whose time is optional holds both).
CREATE OR REPLACE FUNCTION podio.col_moment(t text, vals jsonb, side text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN side = 'end'
        THEN coalesce(podio.value_end(t, vals -> 0), podio.value_end_date(t, vals -> 0)::timestamp AT TIME ZONE 'UTC')
        ELSE coalesce(podio.value_start(t, vals -> 0), podio.value_start_date(t, vals -> 0)::timestamp AT TIME ZONE 'UTC')
    END
$$;

-- An all-day date field (`side` start or end): the date as entered, not moved across time zones.
CREATE OR REPLACE FUNCTION podio.col_date(t text, vals jsonb, side text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN side = 'end' THEN podio.value_end_date(t, vals -> 0) ELSE podio.value_start_date(t, vals -> 0) END
$$;

-- A calculation returning text: its text, or its number as text.
CREATE OR REPLACE FUNCTION podio.col_calc_text(t text, vals jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(podio.value_text(t, vals -> 0), podio.value_number(t, vals -> 0)::text)
$$;

CREATE OR REPLACE FUNCTION podio.col_text_array(t text, vals jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(x ORDER BY o)
    FROM jsonb_array_elements(podio.json_array(vals)) WITH ORDINALITY AS e(v, o)
    CROSS JOIN LATERAL (SELECT podio.value_text(t, e.v) AS x) AS s
    WHERE x IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION podio.col_id_array(t text, vals jsonb) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(x ORDER BY o)
    FROM jsonb_array_elements(podio.json_array(vals)) WITH ORDINALITY AS e(v, o)
    CROSS JOIN LATERAL (SELECT podio.value_ref(t, e.v) AS x) AS s
    WHERE x IS NOT NULL
$$;

-- Any other type: the value objects as received.
CREATE OR REPLACE FUNCTION podio.col_json(t text, vals jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(vals) = 'array' AND jsonb_array_length(vals) > 0 THEN vals END
$$;

-- Each field's `values` keyed by field id: the app tables' writers read every column from it,
-- so an item's `fields` array is walked once, not once per column.
CREATE OR REPLACE FUNCTION podio.field_values(item jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(f ->> 'field_id', f -> 'values'), '{}'::jsonb)
    FROM jsonb_array_elements(podio.json_array(item -> 'fields')) AS f
    WHERE f ->> 'field_id' IS NOT NULL
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
    table_name    text,                   -- podio_apps.<table_name>, set by AppTableStore
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

-- File metadata of items, from each item's `files` (the filter asks for them): a file no
-- longer attached is marked deleted, never dropped. The files themselves are not downloaded.
CREATE TABLE IF NOT EXISTS podio.files (
    file_id          bigint PRIMARY KEY,
    item_id          bigint NOT NULL,
    app_id           bigint NOT NULL,
    name             text,
    mimetype         text,
    size             bigint,                   -- bytes
    created_on       timestamptz,
    created_by_type  text,
    created_by_id    bigint,
    created_by_name  text,
    link             text,                     -- the download link (needs a token)
    raw              jsonb NOT NULL,
    deleted_at       timestamptz,              -- NULL while attached
    synced_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS files_item_idx ON podio.files (item_id);
CREATE INDEX IF NOT EXISTS files_app_idx ON podio.files (app_id) WHERE deleted_at IS NULL;

-- Local history: the state of an item the mirror held before a sync wrote a newer revision of
-- it (written in the page's transaction, from the row being replaced; no Podio call). Only the
-- revisions the mirror saw are here: an item edited twice between two syncs leaves one version.
-- `edited_by_*` come from the replaced state's current_revision.created_by, when Podio sent it.
CREATE TABLE IF NOT EXISTS podio.item_versions (
    item_id         bigint NOT NULL,
    revision        integer NOT NULL,          -- the revision this state was
    app_id          bigint NOT NULL,
    title           text,
    last_edit_on    timestamptz,               -- when this revision was made (current_revision.created_on)
    edited_by_type  text,                      -- user, app, …
    edited_by_id    bigint,
    edited_by_name  text,
    raw             jsonb NOT NULL,            -- the item as the mirror had it
    superseded_at   timestamptz NOT NULL DEFAULT now(),   -- when the mirror wrote the newer revision
    superseded_by   integer,                   -- the revision that replaced it
    run_id          bigint,
    PRIMARY KEY (item_id, revision)
);
CREATE INDEX IF NOT EXISTS item_versions_app_idx ON podio.item_versions (app_id, item_id);

-- Comments on items (GET /comment/item/{item_id}/), as Podio sends them; a comment that is no
-- longer listed is marked deleted, never dropped. `edited_on`: Podio documents no edit time for
-- a comment, so it is Podio's `last_edit_on` when an answer carries one, else when the mirror
-- first saw the text differ from what it held.
CREATE TABLE IF NOT EXISTS podio.comments (
    comment_id       bigint PRIMARY KEY,
    item_id          bigint NOT NULL,
    app_id           bigint NOT NULL,
    created_by_type  text,
    created_by_id    bigint,
    created_by_name  text,
    created_on       timestamptz,
    edited_on        timestamptz,
    value            text,                     -- the text
    rich_value       text,                     -- the text as HTML
    raw              jsonb NOT NULL,
    deleted_at       timestamptz,              -- NULL while Podio lists it
    synced_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS comments_item_idx ON podio.comments (item_id, created_on);

-- Per item, the activity the mirror had seen when it last read its comments: the comments of an
-- item are read again only when its comment_count or last_event_on moved since.
CREATE TABLE IF NOT EXISTS podio.comment_reads (
    item_id        bigint PRIMARY KEY,
    comment_count  integer,
    last_event_on  timestamptz,
    read_at        timestamptz NOT NULL DEFAULT now()
);

-- Deep history (PODIO_DEEP_HISTORY, off by default): Podio's own revisions of items, listed by
-- GET /item/{id}/revision/, and what each changed, from GET /item/{id}/revision/{r-1}/{r}.
-- Revisions are never dropped (an item deleted in Podio keeps its history here).
CREATE TABLE IF NOT EXISTS podio.item_revisions (
    item_id           bigint NOT NULL,
    revision          integer NOT NULL,         -- 0 = creation, +1 per change
    app_id            bigint NOT NULL,
    item_revision_id  bigint,
    type              text,                     -- creation, update, delete
    created_on        timestamptz,              -- when the revision was made
    created_by_type   text,                     -- user, app, …
    created_by_id     bigint,
    created_by_name   text,
    app_revision      bigint,                   -- the app's revision then
    raw               jsonb NOT NULL,           -- the revision as Podio listed it
    diff              jsonb,                    -- the difference from revision - 1, as received (NULL for 0, and until read)
    diff_read_at      timestamptz,              -- when it was read (NULL: still to read)
    synced_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (item_id, revision)
);
CREATE INDEX IF NOT EXISTS item_revisions_app_idx ON podio.item_revisions (app_id, item_id);
-- The diffs still to read (what a run's plan looks for): few rows, a small index.
CREATE INDEX IF NOT EXISTS item_revisions_unread_idx ON podio.item_revisions (item_id) WHERE diff_read_at IS NULL AND revision > 0;

-- One row per field a revision changed (from its diff): the values before and after, `[]` for none.
CREATE TABLE IF NOT EXISTS podio.item_field_changes (
    item_id      bigint NOT NULL,
    revision     integer NOT NULL,              -- the revision that made the change
    field_id     bigint NOT NULL,
    app_id       bigint NOT NULL,
    external_id  text,
    type         text,
    label        text,
    changed_on   timestamptz,                   -- the revision's created_on
    from_values  jsonb NOT NULL,
    to_values    jsonb NOT NULL,
    PRIMARY KEY (item_id, revision, field_id)
);
CREATE INDEX IF NOT EXISTS item_field_changes_field_idx ON podio.item_field_changes (item_id, external_id, changed_on);

-- Per item, the revision it had (in podio.items) when its revisions were last listed: listed
-- again only when it moved.
CREATE TABLE IF NOT EXISTS podio.item_revision_reads (
    item_id   bigint PRIMARY KEY,
    revision  integer NOT NULL,
    read_at   timestamptz NOT NULL DEFAULT now()
);

-- The columns of each app table: one row per column of a field (`part` value, currency or end).
-- `state` is `kept` for the column of a field deleted in Podio that an object of the user's
-- depends on: it is no longer written, and is dropped once nothing depends on it.
CREATE TABLE IF NOT EXISTS podio.app_columns (
    app_id       bigint NOT NULL REFERENCES podio.apps (app_id) ON DELETE CASCADE,
    field_id     bigint NOT NULL,
    part         text NOT NULL,           -- value, currency, end
    column_name  text NOT NULL,
    kind         text NOT NULL,           -- ColumnPart.Kind: text, numeric, integer, interval, moment, date, ...
    state        text NOT NULL DEFAULT 'active',
    PRIMARY KEY (app_id, field_id, part)
);

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
    sweep_gap           integer,          -- Podio's total less the live count after the last ID sweep
    swept_at            timestamptz,      -- when that sweep ran
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
    deletions_withheld  text,             -- why a full pass or sweep marked nothing (it saw less than Podio counted)
    apps_skipped        bigint[] NOT NULL DEFAULT '{}',  -- held by another run when this one came to them
    error_category      text,             -- a failed run's kind of error: credentials, podio, database, usage, other
    deferred_until      timestamptz,
    error               text,
    host                text,
    pid                 integer,
    backend_pid         integer           -- the run's database session; a 'running' run whose
                                          -- session is gone was interrupted
);
CREATE INDEX IF NOT EXISTS sync_runs_started_idx ON podio.sync_runs (started_at DESC);

-- One row per app a run took up: a pass over its items (full or delta), with what it cost.
-- It tells which app a run held and when (no two runs hold one app at once: LockKeys.app), where
-- a full load resumed, and the calls a delta of each app takes, which `status` turns into the
-- calls an hour the schedule needs. Rows older than 30 days are pruned by the runs.
CREATE TABLE IF NOT EXISTS podio.app_passes (
    pass_id             bigserial PRIMARY KEY,
    run_id              bigint NOT NULL,
    app_id              bigint NOT NULL,
    mode                text NOT NULL,    -- full, delta, listing
    status              text NOT NULL,    -- running, succeeded, deferred, stopped, failed, gone
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    resumed_at_offset   integer,          -- a full load resumed from this checkpoint
    calls_rate_limited  integer NOT NULL DEFAULT 0,
    calls_general       integer NOT NULL DEFAULT 0,
    items_written       integer NOT NULL DEFAULT 0,
    items_deleted       integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS app_passes_app_idx ON podio.app_passes (app_id, pass_id DESC);
CREATE INDEX IF NOT EXISTS app_passes_started_idx ON podio.app_passes (started_at);

-- The apps the credentials see, as Podio last listed them (`GET /org/`, `GET /app/space/{id}/`),
-- asked again at most once per PODIO_APPS_REFRESH or by `podio-mirror apps`; also every app a
-- run chose (PODIO_APPS, --app) and the apps Podio no longer serves (403, 404, 410 on the app or
-- its items), which runs skip until the next refresh.
CREATE TABLE IF NOT EXISTS podio.app_list (
    app_id             bigint PRIMARY KEY,
    space_id           bigint,
    name               text,
    status             text,              -- Podio's: active, inactive
    listed_at          timestamptz,       -- the refresh that listed it; NULL when the last one did not
    first_selected_at  timestamptz,       -- the first run that chose it
    selected_at        timestamptz,       -- the latest run that chose it
    gone_at            timestamptz,       -- Podio answered gone_status for it: skipped until the next refresh
    gone_status        integer,
    gone_error         text
);

-- When the app list was last asked of Podio, and for whom (a change of credentials asks again).
CREATE TABLE IF NOT EXISTS podio.app_list_refresh (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    identity      text NOT NULL,         -- the non-secret identities whose view it is
    refreshed_at  timestamptz NOT NULL,
    apps          integer NOT NULL,
    calls_rate_limited integer NOT NULL DEFAULT 0
);

-- The `run` schedulers sharing the database: their schedule and a heartbeat, which `status`
-- reads to know how often each app is meant to be synced.
CREATE TABLE IF NOT EXISTS podio.workers (
    worker_id             bigserial PRIMARY KEY,
    host                  text,
    pid                   integer,
    every_seconds         numeric NOT NULL,
    resync_every_seconds  numeric,
    listen                text,
    started_at            timestamptz NOT NULL DEFAULT now(),
    seen_at               timestamptz NOT NULL DEFAULT now(),
    stopped_at            timestamptz
);

-- Webhooks (version 5). The secret path segment of the hook URL, generated once (32 random
-- bytes) and kept beside the tokens: Podio signs nothing, so the path is what tells Podio's POSTs
-- from forged ones. `verify_open_until`: while `hooks install` runs (and shortly after), a
-- `hook.verify` for a hook id the mirror does not know yet is accepted (Podio may send it before
-- the create call returns the id).
CREATE TABLE IF NOT EXISTS podio_auth.hook_secret (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    secret             text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    verify_open_until  timestamptz
);
REVOKE ALL ON podio_auth.hook_secret FROM PUBLIC;

-- The hooks `hooks install` registered: one per app and event type. `url` is the public base
-- URL as given (without the secret segment). `status` is Podio's (`active`, `inactive`) as last
-- seen: by the list call, or `active` once the mirror validated the hook's verification.
CREATE TABLE IF NOT EXISTS podio.hooks (
    hook_id              bigint PRIMARY KEY,
    app_id               bigint NOT NULL,
    type                 text NOT NULL,
    url                  text NOT NULL,
    status               text NOT NULL DEFAULT 'inactive',
    created_at           timestamptz NOT NULL DEFAULT now(),
    verify_requested_at  timestamptz,
    verified_at          timestamptz,
    checked_at           timestamptz,      -- when Podio last listed it
    last_event_at        timestamptz,      -- the last event received for it
    last_error           text
);
CREATE INDEX IF NOT EXISTS hooks_app_idx ON podio.hooks (app_id);

-- Events the receiver acknowledged, in a durable queue: written before Podio gets its 200,
-- applied (at least once) by the event worker of `run` (and by `sync`), kept a day after.
-- `app_id` is the hook's, never the payload's. `code` is a hook.verify's code, cleared once applied.
CREATE TABLE IF NOT EXISTS podio.hook_events (
    event_id          bigserial PRIMARY KEY,
    hook_id           bigint NOT NULL,
    app_id            bigint,
    type              text NOT NULL,
    item_id           bigint,
    item_revision_id  bigint,
    comment_id        bigint,
    external_id       text,
    code              text,
    received_at       timestamptz NOT NULL DEFAULT now(),
    attempts          integer NOT NULL DEFAULT 0,
    last_error        text,
    applied_at        timestamptz
);
CREATE INDEX IF NOT EXISTS hook_events_pending_idx ON podio.hook_events (event_id) WHERE applied_at IS NULL;
CREATE INDEX IF NOT EXISTS hook_events_item_idx ON podio.hook_events (item_id) WHERE applied_at IS NULL;

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

-- What podio-mirror asked of Podio's token endpoint, per identity, so that every process sharing
-- the database keeps to the endpoint's own throttle together: the last grant with credentials
-- (password or app; at most one every few minutes) and the pause after a 420 there.
CREATE TABLE IF NOT EXISTS podio_auth.token_requests (
    credential    text PRIMARY KEY,
    granted_at    timestamptz,         -- the last password or app grant that gave a token
    paused_until  timestamptz,         -- no token request before this (the endpoint answered 420)
    pause_reason  text
);
REVOKE ALL ON podio_auth.token_requests FROM PUBLIC;

-- Upgrade from version 1: the app tables replace podio.item_values and the views of
-- podio_views. The views podio-mirror made are dropped (a view of the user's on one of them makes
-- this fail with PostgreSQL's message naming it: drop it, migrate, and recreate it on the app
-- table); the schema goes too when nothing else is in it. SchemaMigrator then creates and fills
-- the app tables from podio.items.raw, in this same transaction.
DO $$
DECLARE
    v record;
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = 'podio' AND table_name = 'apps' AND column_name = 'view_name') THEN
        ALTER TABLE podio.apps RENAME COLUMN view_name TO table_name;
        UPDATE podio.apps SET table_name = NULL;
    END IF;
    IF to_regnamespace('podio_views') IS NOT NULL THEN
        FOR v IN SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'podio_views' AND c.relkind = 'v'
                   AND obj_description(c.oid, 'pg_class') LIKE 'podio-mirror: typed view of app %' LOOP
            EXECUTE format('DROP VIEW podio_views.%I', v.relname);
        END LOOP;
        BEGIN
            DROP SCHEMA podio_views;
        EXCEPTION WHEN dependent_objects_still_exist THEN
            RAISE NOTICE 'schema podio_views holds objects podio-mirror did not make; it is left in place';
        END;
    END IF;
END
$$;
-- Columns that version 1 gained after its first release, for mirrors made before them.
ALTER TABLE podio.sync_runs ADD COLUMN IF NOT EXISTS backend_pid integer;
ALTER TABLE podio.quota_state ADD COLUMN IF NOT EXISTS external_calls integer;
ALTER TABLE podio.quota_state ADD COLUMN IF NOT EXISTS external_until timestamptz;
-- Columns of version 2.
ALTER TABLE podio.sync_state ADD COLUMN IF NOT EXISTS sweep_gap integer;
ALTER TABLE podio.sync_state ADD COLUMN IF NOT EXISTS swept_at timestamptz;
ALTER TABLE podio.sync_runs ADD COLUMN IF NOT EXISTS deletions_withheld text;
ALTER TABLE podio.sync_runs ADD COLUMN IF NOT EXISTS error_category text;
-- Columns added in version 3's lifetime (fair scheduling: issue 16).
ALTER TABLE podio.sync_runs ADD COLUMN IF NOT EXISTS apps_skipped bigint[] NOT NULL DEFAULT '{}';
-- Columns of version 5 (webhooks): items a reconciliation found changed that no hook
-- delivered while the app had active hooks.
ALTER TABLE podio.sync_state ADD COLUMN IF NOT EXISTS hooks_missed bigint NOT NULL DEFAULT 0;
ALTER TABLE podio.sync_state ADD COLUMN IF NOT EXISTS hooks_missed_at timestamptz;
DROP TABLE IF EXISTS podio.item_values;
DROP INDEX IF EXISTS podio.items_title_lower_idx;
DROP FUNCTION IF EXISTS podio.value_is_unreadable(text, jsonb, text, numeric, bigint, timestamptz, date);
DROP FUNCTION IF EXISTS podio.value_kind(text, jsonb);

-- Columns of version 6 (webhooks that survive Podio's unknowns): re-verification backs off per
-- hook. `verify_attempts` counts the `verify/request` calls since the hook last verified;
-- `next_verify_at` is the earliest time the next one may be made (1 min doubling up to 1 h),
-- shared by the worker and `hooks install`; both reset when the hook verifies. NULL: due.
ALTER TABLE podio.hooks ADD COLUMN IF NOT EXISTS verify_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE podio.hooks ADD COLUMN IF NOT EXISTS next_verify_at timestamptz;

INSERT INTO podio.schema_version (singleton, version) VALUES (true, 6)
ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, applied_at = now()
WHERE podio.schema_version.version < EXCLUDED.version;

-- Version 6, the quota ledger (issue 23): a call of an endpoint whose tier the ledger has not
-- learned yet is booked on both tiers (it counts in each tier's window) until Podio's
-- X-Rate-Limit-Limit settles it; `tier` is then the tier it counts in, before that the
-- endpoint's default. The index serves the counts that take both kinds of row.
ALTER TABLE podio.api_calls ADD COLUMN IF NOT EXISTS both_tiers boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS api_calls_credential_time_idx ON podio.api_calls (credential, called_at);

-- Version 6, calls never answered (issue 25): `answer_by` is set when a call is
-- booked (the booking time plus the request timeout and a margin) and cleared when its answer,
-- or its failure, is recorded. A call still open counts in the window as if Podio counted it
-- now, and at most as late as `answer_by`: the call of a process killed mid-request (which
-- Podio may have counted on arrival, after the booking) keeps its place until then plus a
-- window, instead of leaving the window a window after its booking.
ALTER TABLE podio.api_calls ADD COLUMN IF NOT EXISTS answer_by timestamptz;

-- Version 6, the extras' failures per object (issue #23): a comment read, file download or
-- revision read that failed is recorded here and the stage goes on with the next object; the
-- object is left alone until `next_try_at` (back-off doubling per attempt), then tried again.
-- A success deletes its row. A file hosted elsewhere than Podio is recorded with attempts 0 and
-- no `next_try_at` (never fetched). `status` lists the rows.
CREATE TABLE IF NOT EXISTS podio.extra_failures (
    kind             text NOT NULL,             -- comments, file, revisions
    object_id        bigint NOT NULL,           -- the item (comments, revisions) or the file
    item_id          bigint NOT NULL,
    app_id           bigint NOT NULL,
    attempts         integer NOT NULL,          -- failed attempts in a row (0: not fetched by choice)
    last_error       text NOT NULL,             -- what failed, for people (no secret)
    first_failed_at  timestamptz NOT NULL,
    last_failed_at   timestamptz NOT NULL,
    next_try_at      timestamptz,               -- NULL: not tried again (a file hosted elsewhere)
    PRIMARY KEY (kind, object_id)
);
CREATE INDEX IF NOT EXISTS extra_failures_app_idx ON podio.extra_failures (app_id);

-- Version 6: for the people who query the mirror (issue 27, docs/tables.md).
-- The comment podio-mirror last wrote on each app table and column (`COMMENT ON`: the app's or
-- field's Podio name, id and type). A comment is rewritten only while it is still this text (or
-- empty): one a user set is left alone.
ALTER TABLE podio.apps ADD COLUMN IF NOT EXISTS table_comment text;
ALTER TABLE podio.app_columns ADD COLUMN IF NOT EXISTS comment text;

-- The app reference columns of the app tables and the apps (and their tables) they point to,
-- from the fields' settings (`referenced_apps[].app_id`, the older `referenceable_types`), so
-- that joins can be written without reading Podio's field settings. `referenced_tables[i]` is
-- the table of `referenced_app_ids[i]` (NULL while that app is not mirrored).
CREATE OR REPLACE VIEW podio.app_references AS
SELECT c.app_id, a.table_name, c.column_name, f.field_id, f.external_id, f.label,
       r.ids AS referenced_app_ids,
       ARRAY(SELECT t.table_name FROM unnest(r.ids) WITH ORDINALITY AS u(id, o)
             LEFT JOIN podio.apps AS t ON t.app_id = u.id ORDER BY u.o) AS referenced_tables
FROM podio.app_columns AS c
JOIN podio.app_fields AS f ON f.field_id = c.field_id
JOIN podio.apps AS a ON a.app_id = c.app_id
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(id ORDER BY first), '{}'::bigint[]) AS ids
    FROM (SELECT id, min(o) AS first
          FROM (SELECT podio.to_bigint(e ->> 'app_id') AS id, o
                FROM jsonb_array_elements(podio.json_array(f.config -> 'settings' -> 'referenced_apps'))
                     WITH ORDINALITY AS x(e, o)
                UNION ALL
                SELECT podio.to_bigint(e #>> '{}'), 100000 + o
                FROM jsonb_array_elements(podio.json_array(f.config -> 'settings' -> 'referenceable_types'))
                     WITH ORDINALITY AS y(e, o)) AS all_ids
          WHERE id IS NOT NULL GROUP BY id) AS distinct_ids
) AS r
WHERE f.type = 'app' AND c.part = 'value' AND c.state <> 'kept';

-- The people the mirrored items name: contact field values (`profile_id`, with `user_id` for a
-- user) and the bylines of items (`created_by`, `current_revision.created_by` of type `user`:
-- `user_id` only). Filled in the page's transaction from the items' JSON, no call to Podio; a row
-- changes when an item edited at or after `seen_on` shows it differently.
CREATE TABLE IF NOT EXISTS podio.profiles (
    profile_key  text PRIMARY KEY,          -- 'profile:<profile_id>', or 'user:<user_id>' while only bylines named the user
    profile_id   bigint,                    -- unique: the key is 'profile:<profile_id>' once it is known
    user_id      bigint,
    type         text,                      -- user, space (a space contact), …
    name         text,
    mail         text[],
    phone        text[],
    link         text,
    avatar       bigint,
    org_id       bigint,
    space_id     bigint,
    external_id  text,
    last_seen_on timestamptz,
    raw          jsonb,                     -- the latest contact value or byline object
    seen_on      timestamptz,               -- the edit time of the item state that last wrote the row
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS profiles_profile_idx ON podio.profiles (profile_id);
CREATE INDEX IF NOT EXISTS profiles_user_idx ON podio.profiles (user_id);
CREATE INDEX IF NOT EXISTS profiles_name_idx ON podio.profiles (lower(name));

-- Podio's workspaces and organizations, as the app list's refresh (`GET /org/`) last saw them.
CREATE TABLE IF NOT EXISTS podio.orgs (
    org_id     bigint PRIMARY KEY,
    name       text,
    url_label  text,
    url        text,
    listed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS podio.spaces (
    space_id   bigint PRIMARY KEY,
    org_id     bigint,
    name       text,
    url_label  text,
    url        text,
    listed_at  timestamptz NOT NULL DEFAULT now()
);
