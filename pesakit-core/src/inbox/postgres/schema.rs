//! The PostgreSQL inbox's schema: tables and indexes, applied by versioned
//! migrations, and the functions that record and settle callbacks in one
//! call each, defined for them at every start.

use super::{database, pg_text};
use crate::inbox::delivery::{BodyDigest, summary};
use crate::inbox::store::StoreError;
use crate::kind::CallbackKind;

/// The advisory lock class of pesakit's locks (`"pk"`, 28779): migrations
/// here, and callbacks sharing a Daraja id in `pesakit_record_batch`.
const LOCK_CLASS: i32 = 0x706b;

/// Schema migrations, applied in order once each, under an advisory lock so
/// that instances starting together apply each exactly once.
pub(super) const MIGRATIONS: [&str; 2] = [FIRST_SCHEMA, DELIVERIES];

/// The version whose migration adds deliveries: rows stored before it get
/// their digests then.
const DELIVERIES_VERSION: usize = 2;

const FIRST_SCHEMA: &str = r"
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
";

/// Conflicting deliveries: a callback may hold several bodies under one
/// kind and dedupe key, one row each, told apart by their digest.
const DELIVERIES: &str = r"
    ALTER TABLE callbacks ADD COLUMN body_digest BYTEA;
    ALTER TABLE callbacks ADD COLUMN summary TEXT;
    ALTER TABLE callbacks ADD COLUMN delivery INTEGER NOT NULL DEFAULT 1;
    DROP INDEX callbacks_dedupe_key_kind;
    CREATE UNIQUE INDEX callbacks_deliveries ON callbacks (dedupe_key, kind, body_digest)
        WHERE dedupe_key IS NOT NULL;
    DROP FUNCTION IF EXISTS pesakit_record_batch(TEXT[], TEXT[], BYTEA[], TEXT[], TEXT[], TEXT[], TEXT[],
        TIMESTAMPTZ[], TEXT[], TIMESTAMPTZ[], TEXT[], INTEGER[], INTEGER[], TEXT[], TEXT[]);
";

/// The functions that record and settle callbacks, (re)defined after the
/// migrations at every start, so that each is written once, for the
/// current tables. PL/pgSQL keeps each statement's plan for the session,
/// where a SQL function would plan its statements at every call.
const FUNCTIONS: &str = r"
    -- Recording: the callbacks that queued while the last batch was
    -- written, in one call, one transaction, one WAL flush, with a few
    -- statements for the whole batch. The ids of callback i are
    -- p_id_names[p_id_from[i]:p_id_to[i]]. Answers one row per callback,
    -- in order.
    CREATE OR REPLACE FUNCTION pesakit_record_batch(
        p_kinds TEXT[], p_route_paths TEXT[], p_bodies BYTEA[], p_content_types TEXT[], p_forwarded TEXT[],
        p_peers TEXT[], p_clients TEXT[], p_received_at TIMESTAMPTZ[], p_dedupe_keys TEXT[], p_due_at TIMESTAMPTZ[],
        p_outcome_unknown TEXT[], p_id_from INTEGER[], p_id_to INTEGER[], p_id_names TEXT[], p_id_values TEXT[],
        p_digests BYTEA[], p_summaries TEXT[])
    RETURNS TABLE (o_id BIGINT, o_duplicate BOOLEAN, o_verdict_code TEXT, o_verdict_tag TEXT, o_delivery INTEGER)
    LANGUAGE plpgsql AS $batch$
    DECLARE
        new_ids BIGINT[];
        new_kinds TEXT[];
        new_keys TEXT[];
        new_digests BYTEA[];
        old_ids BIGINT[] := '{}';
        old_kinds TEXT[] := '{}';
        old_keys TEXT[] := '{}';
        old_digests BYTEA[] := '{}';
        old_codes TEXT[] := '{}';
        old_tags TEXT[] := '{}';
        repeated RECORD;
        marked RECORD;
        settled_ids TEXT[];
        carriers BIGINT[];
        conflicted RECORD;
        earlier_delivery INTEGER;
        earlier_summary TEXT;
    BEGIN
        -- Callbacks sharing an id wait for each other, so that a result
        -- and its queue timeout arriving together at two instances still
        -- agree on the reconciliation mark; sorted, so batches written at
        -- once never deadlock.
        PERFORM pg_advisory_xact_lock(28779, key)
            FROM (SELECT DISTINCT hashtext(value) AS key FROM unnest(p_dedupe_keys || p_id_values) AS value
                  ORDER BY 1) AS keys;
        -- The first copy of each body in the batch is stored, counting the
        -- copies, unless it is stored already; a body is known by its
        -- kind, dedupe key and digest.
        WITH input AS (
            SELECT * FROM unnest(p_kinds, p_route_paths, p_bodies, p_content_types, p_forwarded, p_peers, p_clients,
                                 p_received_at, p_dedupe_keys, p_due_at, p_outcome_unknown, p_id_from, p_id_to,
                                 p_digests, p_summaries)
                WITH ORDINALITY AS t(kind, route_path, body, content_type, forwarded, peer, client, received_at,
                                     dedupe_key, due_at, outcome_unknown, id_from, id_to, body_digest, summary,
                                     position)
        ), firsts AS (
            SELECT DISTINCT ON (kind, dedupe_key, body_digest) *,
                   count(*) OVER (PARTITION BY kind, dedupe_key, body_digest) AS copies,
                   max(received_at) OVER (PARTITION BY kind, dedupe_key, body_digest) AS last_seen
            FROM input ORDER BY kind, dedupe_key, body_digest, position
        ), inserted AS (
            INSERT INTO callbacks (kind, route_path, dedupe_key, state, body, content_type, forwarded, peer, client,
                                   received_at, last_seen_at, seen_count, due_at, is_final, reconcile_reason,
                                   id_names, id_values, attempts, body_digest, summary)
                SELECT kind, route_path, dedupe_key, 'pending', body, content_type, forwarded, peer, client,
                       received_at, last_seen, copies, due_at, outcome_unknown IS NULL, outcome_unknown,
                       coalesce(p_id_names[id_from:id_to], '{}'), coalesce(p_id_values[id_from:id_to], '{}'), 1,
                       body_digest, summary
                FROM firsts ORDER BY position
                ON CONFLICT (dedupe_key, kind, body_digest) WHERE dedupe_key IS NOT NULL DO NOTHING
                RETURNING id, kind, dedupe_key, body_digest, id_values
        ), carried AS (
            INSERT INTO callback_ids (value, callback_id)
                SELECT DISTINCT value, id FROM inserted, unnest(inserted.id_values) AS value
                ON CONFLICT DO NOTHING
        )
        SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(kind), '{}'), coalesce(array_agg(dedupe_key), '{}'),
               coalesce(array_agg(body_digest), '{}')
            INTO new_ids, new_kinds, new_keys, new_digests FROM inserted;
        -- Copies of callbacks stored before: counted, and answered with
        -- what was stored (a few, one at a time). Each such step runs only
        -- when the batch needs it: most batches hold new callbacks only.
        IF cardinality(new_ids) < cardinality(p_kinds) THEN
            FOR repeated IN
                SELECT kind, dedupe_key, body_digest, count(*) AS copies, max(received_at) AS last_seen
                FROM unnest(p_kinds, p_dedupe_keys, p_digests, p_received_at)
                    AS t(kind, dedupe_key, body_digest, received_at)
                WHERE (kind, dedupe_key, body_digest) NOT IN (SELECT * FROM unnest(new_kinds, new_keys, new_digests))
                GROUP BY kind, dedupe_key, body_digest
            LOOP
                UPDATE callbacks SET seen_count = seen_count + repeated.copies,
                                     last_seen_at = GREATEST(last_seen_at, repeated.last_seen)
                    WHERE kind = repeated.kind AND dedupe_key = repeated.dedupe_key
                          AND body_digest = repeated.body_digest
                    RETURNING id, verdict_code, verdict_tag
                    INTO o_id, o_verdict_code, o_verdict_tag;
                old_ids := old_ids || o_id;
                old_kinds := old_kinds || repeated.kind;
                old_keys := old_keys || repeated.dedupe_key;
                old_digests := old_digests || repeated.body_digest;
                old_codes := old_codes || o_verdict_code;
                old_tags := old_tags || o_verdict_tag;
            END LOOP;
        END IF;
        -- A final callback clears the marks of the callbacks carrying one
        -- of its ids, found through the id indexes and reached by primary
        -- key (statistics lag a table that grows this fast: no statement
        -- leaves the planner a choice).
        settled_ids := ARRAY(SELECT value FROM callbacks, unnest(array_prepend(dedupe_key, id_values)) AS value
                             WHERE id = ANY (new_ids) AND is_final);
        IF cardinality(settled_ids) > 0 THEN
            carriers := ARRAY(SELECT id FROM callbacks WHERE dedupe_key = ANY (settled_ids)
                              UNION SELECT callback_id FROM callback_ids WHERE value = ANY (settled_ids));
            -- A conflict's mark stays: it waits for the reconciliation.
            UPDATE callbacks SET reconcile_reason = NULL
                WHERE id = ANY (carriers) AND NOT is_final AND delivery = 1 AND reconcile_reason IS NOT NULL;
        END IF;
        -- One whose outcome is unknown was stored marked; a final callback
        -- already stored under one of its ids clears the mark (a few, one
        -- at a time).
        IF cardinality(array_remove(p_outcome_unknown, NULL)) > 0 THEN
            FOR marked IN
                SELECT id, array_prepend(dedupe_key, id_values) AS shared FROM callbacks
                WHERE id = ANY (new_ids) AND reconcile_reason IS NOT NULL
            LOOP
                carriers := ARRAY(SELECT id FROM callbacks WHERE dedupe_key = ANY (marked.shared)
                                  UNION SELECT callback_id FROM callback_ids WHERE value = ANY (marked.shared));
                UPDATE callbacks SET reconcile_reason = NULL
                    WHERE id = marked.id AND EXISTS (SELECT 1 FROM callbacks WHERE id = ANY (carriers)
                                                     AND id <> marked.id AND is_final AND state <> 'quarantined');
            END LOOP;
        END IF;
        -- A new body under a kind and dedupe key stored before is a
        -- conflicting delivery, numbered after the latest one before it,
        -- which lends it the callback's one mark; in id order, so that two
        -- in one batch are numbered in turn. Most batches have none: each
        -- new callback costs one look at the index it was stored in.
        FOR conflicted IN
            SELECT new.id, new.kind, new.dedupe_key, new.summary FROM callbacks AS new
            WHERE new.id = ANY (new_ids) AND EXISTS (
                SELECT 1 FROM callbacks AS earlier
                WHERE earlier.dedupe_key = new.dedupe_key AND earlier.kind = new.kind AND earlier.id < new.id)
            ORDER BY new.id
        LOOP
            SELECT delivery, summary INTO earlier_delivery, earlier_summary FROM callbacks
                WHERE dedupe_key = conflicted.dedupe_key AND kind = conflicted.kind AND id < conflicted.id
                ORDER BY id DESC LIMIT 1;
            UPDATE callbacks SET reconcile_reason = NULL
                WHERE dedupe_key = conflicted.dedupe_key AND kind = conflicted.kind AND id < conflicted.id
                      AND reconcile_reason IS NOT NULL;
            UPDATE callbacks SET delivery = earlier_delivery + 1,
                                 reconcile_reason = CASE
                                     WHEN earlier_summary IS NOT DISTINCT FROM conflicted.summary
                                     THEN 'conflicting deliveries: ' || coalesce(conflicted.summary, 'a body')
                                          || ' both times, other fields differ'
                                     ELSE 'conflicting deliveries: ' || coalesce(earlier_summary, 'a body')
                                          || ' then ' || coalesce(conflicted.summary, 'a body') END
                WHERE id = conflicted.id;
        END LOOP;
        RETURN QUERY
            WITH input AS (
                SELECT * FROM unnest(p_kinds, p_dedupe_keys, p_digests)
                    WITH ORDINALITY AS t(kind, dedupe_key, body_digest, position)
            ), firsts AS (
                SELECT kind, dedupe_key, body_digest, min(position) AS position FROM input
                GROUP BY kind, dedupe_key, body_digest
            ), stored_now AS (
                SELECT id, kind, dedupe_key, body_digest, delivery FROM callbacks WHERE id = ANY (new_ids)
            ), stored_before AS (
                SELECT * FROM unnest(old_ids, old_kinds, old_keys, old_digests, old_codes, old_tags)
                    AS t(id, kind, dedupe_key, body_digest, code, tag)
            )
            SELECT coalesce(stored_now.id, stored_before.id),
                   stored_now.id IS NULL OR firsts.position <> input.position,
                   stored_before.code, stored_before.tag, coalesce(stored_now.delivery, 1)
            FROM input
            JOIN firsts ON firsts.kind = input.kind AND firsts.dedupe_key = input.dedupe_key
                           AND firsts.body_digest = input.body_digest
            LEFT JOIN stored_now ON stored_now.kind = input.kind AND stored_now.dedupe_key = input.dedupe_key
                                    AND stored_now.body_digest = input.body_digest
            LEFT JOIN stored_before
                ON stored_before.kind = input.kind AND stored_before.dedupe_key = input.dedupe_key
                   AND stored_before.body_digest = input.body_digest
            ORDER BY input.position;
    END
    $batch$;
    -- How handlers ended, a batch at a time, in one statement; for an id
    -- settled twice in a batch the later settlement holds. o_found is
    -- false for an id that is not stored.
    CREATE OR REPLACE FUNCTION pesakit_settle_batch(
        p_ids BIGINT[], p_outcomes TEXT[], p_states TEXT[], p_due_at TIMESTAMPTZ[], p_errors TEXT[],
        p_verdict_codes TEXT[], p_verdict_tags TEXT[], p_fell_back BOOLEAN[], p_settled_at TIMESTAMPTZ,
        p_fell_back_reason TEXT)
    RETURNS TABLE (o_found BOOLEAN)
    LANGUAGE plpgsql AS $settle$
    BEGIN
        RETURN QUERY WITH settlements AS (
            SELECT DISTINCT ON (id) * FROM unnest(p_ids, p_outcomes, p_states, p_due_at, p_errors, p_verdict_codes,
                                                 p_verdict_tags, p_fell_back)
                WITH ORDINALITY AS t(id, outcome, state, due_at, error, code, tag, fell_back, position)
            ORDER BY id, position DESC
        ), settled AS (
            UPDATE callbacks SET
                state = settlements.state,
                due_at = settlements.due_at,
                last_error = CASE settlements.outcome WHEN 'verdict' THEN callbacks.last_error
                                                      ELSE settlements.error END,
                verdict_code = CASE settlements.outcome WHEN 'verdict' THEN settlements.code
                                                        ELSE callbacks.verdict_code END,
                verdict_tag = CASE settlements.outcome WHEN 'verdict' THEN settlements.tag
                                                       ELSE callbacks.verdict_tag END,
                settled_at = CASE settlements.outcome WHEN 'failed' THEN callbacks.settled_at ELSE p_settled_at END,
                reconcile_reason = CASE WHEN settlements.fell_back THEN p_fell_back_reason
                                        ELSE callbacks.reconcile_reason END
            FROM settlements
            -- `= ANY` gives the planner the primary key whatever its statistics say.
            WHERE callbacks.id = settlements.id AND callbacks.id = ANY (p_ids)
            RETURNING callbacks.id
        )
        SELECT EXISTS (SELECT 1 FROM settled WHERE settled.id = t.id)
        FROM unnest(p_ids) WITH ORDINALITY AS t(id, position) ORDER BY position;
    END
    $settle$;
";

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
        if index + 1 == DELIVERIES_VERSION {
            digest_stored_bodies(&transaction).await?;
        }
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        transaction
            .execute(&format!("INSERT INTO {schema}.pesakit_schema (version) VALUES ($1)"), &[&version])
            .await
            .map_err(database)?;
    }
    transaction.batch_execute(FUNCTIONS).await.map_err(database)?;
    let synchronous: String = transaction.query_one("SHOW synchronous_commit", &[]).await.map_err(database)?.get(0);
    if synchronous == "off" {
        tracing::warn!(
            "PostgreSQL runs with synchronous_commit=off: a callback acknowledged just before the database \
             crashes can be lost; turn it back on"
        );
    }
    transaction.commit().await.map_err(database)
}

/// The digest and summary of every callback stored before deliveries were
/// told apart, so that a repeat of one is still found as a duplicate.
async fn digest_stored_bodies(transaction: &deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    let stored = transaction
        .query("SELECT id, kind, body FROM callbacks WHERE dedupe_key IS NOT NULL", &[])
        .await
        .map_err(database)?;
    let update = transaction
        .prepare("UPDATE callbacks SET body_digest = $2, summary = $3 WHERE id = $1")
        .await
        .map_err(database)?;
    for row in stored {
        let (id, kind, body): (i64, String, Vec<u8>) = (row.get("id"), row.get("kind"), row.get("body"));
        // A kind this version does not know keeps no digest: its repeats
        // are stored, never lost.
        let Some(kind) = CallbackKind::from_attribute_name(&kind) else { continue };
        let summary = summary(&body).map(|summary| pg_text(&summary));
        transaction.execute(&update, &[&id, &&BodyDigest::of(kind, &body).0[..], &summary]).await.map_err(database)?;
    }
    Ok(())
}
