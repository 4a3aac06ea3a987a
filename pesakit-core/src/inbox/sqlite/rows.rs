//! Stored rows as the inbox's types, read by column name, and the
//! conversions of the values they hold.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rusqlite::{Connection, Row};

use crate::inbox::store::{Arrived, CallbackState, StoredCallback, StoredVerdict, record_id};
use crate::kind::CallbackKind;

/// The columns a [`StoredCallback`] is read from.
pub(super) const COLUMNS: &str = "id, kind, route_path, dedupe_key, delivery, state, \
    (SELECT body FROM callback_bodies WHERE callback_bodies.id = callbacks.id) AS body, content_type, forwarded, \
    peer, received_at, last_seen_at, seen_count, attempts, due_at, last_error, verdict_code, verdict_tag, \
    reconcile_reason, settled_at, secondary_ids, client";

/// The callbacks `sql` selects (with [`COLUMNS`]).
pub(super) fn select(
    connection: &Connection,
    sql: &str,
    values: impl rusqlite::Params,
) -> rusqlite::Result<Vec<StoredCallback>> {
    let mut statement = connection.prepare_cached(sql)?;
    statement.query_map(values, read_row)?.collect()
}

fn read_row(row: &Row<'_>) -> rusqlite::Result<StoredCallback> {
    let invalid = |column: &str, what: &str| {
        let index = row.as_ref().column_index(column).unwrap_or(0);
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, what.to_owned().into())
    };
    let kind: String = row.get("kind")?;
    let state: String = row.get("state")?;
    let peer: Option<String> = row.get("peer")?;
    let client: Option<String> = row.get("client")?;
    let verdict_code: Option<String> = row.get("verdict_code")?;
    let arrived = Arrived {
        kind: CallbackKind::from_attribute_name(&kind).ok_or_else(|| invalid("kind", "an unknown callback kind"))?,
        route_path: row.get("route_path")?,
        body: Bytes::from(row.get::<_, Vec<u8>>("body")?),
        content_type: row.get("content_type")?,
        forwarded: row.get("forwarded")?,
        peer: peer.and_then(|peer| peer.parse::<SocketAddr>().ok()),
        client: client.and_then(|client| client.parse().ok()),
        received_at: time(row.get("received_at")?),
    };
    Ok(StoredCallback {
        id: record_id(row.get("id")?),
        arrived,
        dedupe_key: row.get("dedupe_key")?,
        delivery: u32::try_from(row.get::<_, i64>("delivery")?).unwrap_or(u32::MAX),
        secondary_ids: parse_ids(&row.get::<_, String>("secondary_ids")?),
        state: CallbackState::from_name(&state).ok_or_else(|| invalid("state", "an unknown state"))?,
        last_seen_at: time(row.get("last_seen_at")?),
        seen_count: u32::try_from(row.get::<_, i64>("seen_count")?).unwrap_or(u32::MAX),
        attempts: u32::try_from(row.get::<_, i64>("attempts")?).unwrap_or(u32::MAX),
        next_attempt_at: row.get::<_, Option<i64>>("due_at")?.map(time),
        last_error: row.get("last_error")?,
        verdict: verdict_code.map(|code| row.get("verdict_tag").map(|tag| StoredVerdict { code, tag })).transpose()?,
        needs_reconciliation: row.get("reconcile_reason")?,
        settled_at: row.get::<_, Option<i64>>("settled_at")?.map(time),
    })
}

/// Secondary ids as stored with their callback: a JSON list of
/// `[name, value]` pairs (lookups go through `callback_ids`).
pub(super) fn parse_ids(stored: &str) -> Vec<(String, String)> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// Milliseconds since the Unix epoch, as stored.
pub(super) fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

pub(super) fn time(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}
