//! Fair shares of the connection cap.
//!
//! A receiver at its cap must still answer the next real callback. Waiting
//! in the listen backlog for a place is no answer: a client that holds
//! idle keep-alive connections open, or sends a small request now and then
//! to keep them so, would hold every place for as long as it liked. So the
//! server keeps a register of its open connections and, at the cap, cuts
//! the one that has waited longest for its next request (idle, or still
//! sending headers) to make room; a request in progress is never cut. A
//! per-address limit stops one address from holding more than its share:
//! past it, a new connection takes the place of that address's own
//! longest-waiting one, or is closed if they are all busy.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use super::connection::Shared;

/// The open connections, by address.
#[derive(Debug)]
pub(super) struct OpenConnections {
    register: Mutex<Register>,
    per_address_limit: usize,
}

#[derive(Debug, Default)]
struct Register {
    next_id: u64,
    open: HashMap<u64, Open>,
    per_address: HashMap<IpAddr, usize>,
}

#[derive(Debug)]
struct Open {
    address: IpAddr,
    connection: Arc<Shared>,
}

/// A connection's place in the register; dropping it removes the
/// connection.
#[derive(Debug)]
pub(super) struct Registration {
    id: u64,
    address: IpAddr,
    connections: Arc<OpenConnections>,
}

impl OpenConnections {
    pub(super) fn new(per_address_limit: usize) -> Self {
        Self { register: Mutex::default(), per_address_limit }
    }

    /// Registers a new connection from `address`, making room for it among
    /// that address's connections if it is at its limit; `None` if it is
    /// and none of them can give way.
    pub(super) fn admit(self: &Arc<Self>, address: IpAddr, connection: Arc<Shared>) -> Option<Registration> {
        let mut register = self.lock();
        let from_address = register.per_address.get(&address).copied().unwrap_or(0);
        if from_address >= self.per_address_limit && !register.cut_longest_waiting(|_, open| open.address == address) {
            return None;
        }
        let id = register.next_id;
        register.next_id += 1;
        register.open.insert(id, Open { address, connection });
        *register.per_address.entry(address).or_insert(0) += 1;
        Some(Registration { id, address, connections: Arc::clone(self) })
    }

    /// Cuts the connection that has waited longest for a request, so that
    /// `newcomer` can take its place; `false` if every other connection is
    /// busy.
    pub(super) fn make_room(&self, newcomer: &Registration) -> bool {
        self.lock().cut_longest_waiting(|id, _| id != newcomer.id)
    }

    /// A poisoned lock only means a panic elsewhere; the register itself is
    /// updated in single steps and stays whole.
    fn lock(&self) -> MutexGuard<'_, Register> {
        self.register.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Register {
    /// Cuts the longest-waiting connection among those `eligible`; the
    /// oldest goes first among those that waited as long. Its registration
    /// is removed when its task ends, moments later.
    fn cut_longest_waiting(&mut self, eligible: impl Fn(u64, &Open) -> bool) -> bool {
        let longest = self
            .open
            .iter()
            .filter(|(id, open)| eligible(**id, open))
            .filter_map(|(id, open)| {
                open.connection.waiting_checks().map(|checks| (checks, std::cmp::Reverse(*id), open))
            })
            .max_by_key(|(checks, id, _)| (*checks, *id));
        let Some((_, _, open)) = longest else { return false };
        open.connection.cut();
        tracing::debug!(peer = %open.address, "cut a waiting connection to make room for a new one");
        true
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut register = self.connections.lock();
        register.open.remove(&self.id);
        if let Some(count) = register.per_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                register.per_address.remove(&self.address);
            }
        }
    }
}
