//! The PostgreSQL inbox's schema: tables, indexes and the functions that
//! record and settle callbacks in one call each, applied by versioned
//! migrations.

use super::database;
use crate::inbox::store::StoreError;

/// The advisory lock class of pesakit's locks (`"pk"`, 28779): migrations
/// here, and callbacks sharing a Daraja id in `pesakit_record` and
/// `pesakit_record_batch`.
const LOCK_CLASS: i32 = 0x706b;

/// Schema migrations, applied in order once each, under an advisory lock so
/// that instances starting together apply each exactly once.
pub(super) const MIGRATIONS: [&str; 1] = [r"
    CREATE TABLE callbacks (
        id BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL,
        route_path TEXT NOT NULL,
        dedupe_key TEXT,
        state TEXT NOT NULL,
        body BYTEA NOT NULL,
        content_type TEXT,
        forwarded TEXT,
        peer TEXT,
        client TEXT,
        received_at TIMESTAMPTZ NOT NULL,
        last_seen_at TIMESTAMPTZ NOT NULL,
        seen_count INTEGER NOT NULL DEFAULT 1,
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at TIMESTAMPTZ,
        last_error TEXT,
        verdict_code TEXT,
        verdict_tag TEXT,
        reconcile_reason TEXT,
        is_final BOOLEAN NOT NULL,
        settled_at TIMESTAMPTZ,
        id_names TEXT[] NOT NULL DEFAULT '{}',
        id_values TEXT[] NOT NULL DEFAULT '{}'
    );
    CREATE UNIQUE INDEX callbacks_dedupe_key_kind ON callbacks (dedupe_key, kind) WHERE dedupe_key IS NOT NULL;
    CREATE INDEX callbacks_to_reconcile ON callbacks (id) WHERE reconcile_reason IS NOT NULL;
    CREATE INDEX callbacks_due ON callbacks (due_at, id) WHERE state IN ('pending', 'failed');
    CREATE INDEX callbacks_quarantined ON callbacks (id) WHERE state = 'quarantined';
    CREATE TABLE callback_ids (
        value TEXT NOT NULL,
        callback_id BIGINT NOT NULL,
        PRIMARY KEY (value, callback_id)
    );
    -- Recording is one call, so one round trip and one transaction.
    CREATE FUNCTION pesakit_record(
        p_kind TEXT, p_route_path TEXT, p_body BYTEA, p_content_type TEXT, p_forwarded TEXT, p_peer TEXT,
        p_client TEXT, p_received_at TIMESTAMPTZ, p_dedupe_key TEXT, p_due_at TIMESTAMPTZ, p_outcome_unknown TEXT,
        p_id_names TEXT[], p_id_values TEXT[],
        OUT o_id BIGINT, OUT o_duplicate BOOLEAN, OUT o_verdict_code TEXT, OUT o_verdict_tag TEXT)
    LANGUAGE plpgsql AS $record$
    DECLARE
        shared TEXT[] := array_prepend(p_dedupe_key, p_id_values);
        carriers BIGINT[];
        settled BOOLEAN;
    BEGIN
        -- Callbacks sharing an id wait for each other, so that a result and
        -- its queue timeout arriving together at two instances still agree
        -- on the reconciliation mark. Sorted, so two never deadlock.
        PERFORM pg_advisory_xact_lock(28779, key)
            FROM (SELECT DISTINCT hashtext(value) AS key FROM unnest(shared) AS value ORDER BY 1) AS keys;
        INSERT INTO callbacks (kind, route_path, dedupe_key, state, body, content_type, forwarded, peer, client,
                               received_at, last_seen_at, due_at, is_final, id_names, id_values, attempts)
            VALUES (p_kind, p_route_path, p_dedupe_key, 'pending', p_body, p_content_type, p_forwarded, p_peer,
                    p_client, p_received_at, p_received_at, p_due_at, p_outcome_unknown IS NULL, p_id_names,
                    p_id_values, 1)
            ON CONFLICT (dedupe_key, kind) WHERE dedupe_key IS NOT NULL DO NOTHING
            RETURNING id INTO o_id;
        IF o_id IS NULL THEN
            UPDATE callbacks SET seen_count = seen_count + 1, last_seen_at = GREATEST(last_seen_at, p_received_at)
                WHERE kind = p_kind AND dedupe_key = p_dedupe_key
                RETURNING id, verdict_code, verdict_tag INTO o_id, o_verdict_code, o_verdict_tag;
            o_duplicate := TRUE;
            RETURN;
        END IF;
        o_duplicate := FALSE;
        INSERT INTO callback_ids (value, callback_id)
            SELECT DISTINCT value, o_id FROM unnest(p_id_values) AS value ON CONFLICT DO NOTHING;
        -- The other callbacks carrying one of its ids (a few: other kinds,
        -- other deliveries), each found through an index; what follows
        -- reaches them by primary key. Statistics lag a table that grows
        -- fast, so no statement leaves the planner a choice.
        carriers := ARRAY(SELECT id FROM callbacks WHERE dedupe_key = ANY (shared)
                          UNION SELECT callback_id FROM callback_ids WHERE value = ANY (shared));
        IF p_outcome_unknown IS NOT NULL THEN
            SELECT EXISTS (SELECT 1 FROM callbacks WHERE id = ANY (carriers) AND id <> o_id AND is_final
                           AND state <> 'quarantined') INTO settled;
            IF NOT settled THEN
                UPDATE callbacks SET reconcile_reason = p_outcome_unknown WHERE id = o_id;
            END IF;
        ELSE
            UPDATE callbacks SET reconcile_reason = NULL
                WHERE id = ANY (carriers) AND id <> o_id AND reconcile_reason IS NOT NULL;
        END IF;
    END
    $record$;
    -- Group commit: the callbacks that queued while the last batch was
    -- written, in one call, one transaction, one WAL flush. The ids of
    -- callback i are p_id_names[p_id_from[i]:p_id_to[i]].
    CREATE FUNCTION pesakit_record_batch(
        p_kinds TEXT[], p_route_paths TEXT[], p_bodies BYTEA[], p_content_types TEXT[], p_forwarded TEXT[],
        p_peers TEXT[], p_clients TEXT[], p_received_at TIMESTAMPTZ[], p_dedupe_keys TEXT[], p_due_at TIMESTAMPTZ[],
        p_outcome_unknown TEXT[], p_id_from INTEGER[], p_id_to INTEGER[], p_id_names TEXT[], p_id_values TEXT[])
    RETURNS TABLE (o_id BIGINT, o_duplicate BOOLEAN, o_verdict_code TEXT, o_verdict_tag TEXT)
    LANGUAGE plpgsql AS $batch$
    BEGIN
        -- Every lock of the batch first, sorted, so that batches written
        -- at once never deadlock; pesakit_record takes them again, held.
        PERFORM pg_advisory_xact_lock(28779, key)
            FROM (SELECT DISTINCT hashtext(value) AS key FROM unnest(p_dedupe_keys || p_id_values) AS value
                  ORDER BY 1) AS keys;
        FOR i IN 1 .. coalesce(array_length(p_kinds, 1), 0) LOOP
            RETURN QUERY SELECT * FROM pesakit_record(p_kinds[i], p_route_paths[i], p_bodies[i], p_content_types[i],
                p_forwarded[i], p_peers[i], p_clients[i], p_received_at[i], p_dedupe_keys[i], p_due_at[i],
                p_outcome_unknown[i], coalesce(p_id_names[p_id_from[i]:p_id_to[i]], '{}'),
                coalesce(p_id_values[p_id_from[i]:p_id_to[i]], '{}'));
        END LOOP;
    END
    $batch$;
    -- How handlers ended, a batch at a time; o_found is false for an id
    -- that is not stored.
    CREATE FUNCTION pesakit_settle_batch(
        p_ids BIGINT[], p_outcomes TEXT[], p_states TEXT[], p_due_at TIMESTAMPTZ[], p_errors TEXT[],
        p_verdict_codes TEXT[], p_verdict_tags TEXT[], p_fell_back BOOLEAN[], p_settled_at TIMESTAMPTZ,
        p_fell_back_reason TEXT)
    RETURNS TABLE (o_found BOOLEAN)
    LANGUAGE plpgsql AS $settle$
    BEGIN
        FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
            IF p_outcomes[i] = 'done' THEN
                UPDATE callbacks SET state = 'done', due_at = NULL, last_error = NULL, settled_at = p_settled_at
                    WHERE id = p_ids[i];
            ELSIF p_outcomes[i] = 'verdict' THEN
                UPDATE callbacks SET state = 'done', due_at = NULL, verdict_code = p_verdict_codes[i],
                    verdict_tag = p_verdict_tags[i], settled_at = p_settled_at,
                    reconcile_reason = CASE WHEN p_fell_back[i] THEN p_fell_back_reason ELSE reconcile_reason END
                    WHERE id = p_ids[i];
            ELSE
                UPDATE callbacks SET state = p_states[i], due_at = p_due_at[i], last_error = p_errors[i]
                    WHERE id = p_ids[i];
            END IF;
            o_found := FOUND;
            RETURN NEXT;
        END LOOP;
    END
    $settle$;
"];

pub(super) async fn migrate(client: &mut deadpool_postgres::Object, schema: &str) -> Result<(), StoreError> {
    let transaction = client.transaction().await.map_err(database)?;
    // Instances starting together: one applies, the others wait and
    // find the migrations applied.
    transaction
        .execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&LOCK_CLASS, &schema])
        .await
        .map_err(database)?;
    transaction
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; \
             CREATE TABLE IF NOT EXISTS {schema}.pesakit_schema (version INTEGER NOT NULL)"
        ))
        .await
        .map_err(database)?;
    let applied: Option<i32> = transaction
        .query_one(&format!("SELECT MAX(version) FROM {schema}.pesakit_schema"), &[])
        .await
        .map_err(database)?
        .get(0);
    let applied = usize::try_from(applied.unwrap_or(0)).unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        transaction.batch_execute(migration).await.map_err(database)?;
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        transaction
            .execute(&format!("INSERT INTO {schema}.pesakit_schema (version) VALUES ($1)"), &[&version])
            .await
            .map_err(database)?;
    }
    let synchronous: String = transaction.query_one("SHOW synchronous_commit", &[]).await.map_err(database)?.get(0);
    if synchronous == "off" {
        tracing::warn!(
            "PostgreSQL runs with synchronous_commit=off: a callback acknowledged just before the database \
             crashes can be lost; turn it back on"
        );
    }
    transaction.commit().await.map_err(database)
}
