//! A node's durable storage: a key-value table and an append-only log, with explicit sync.
//!
//! The model is a disk behind a page cache. Writes are visible to the node at once, but
//! reach the disk only when the node calls [`Storage::sync`]; a crash throws away whatever
//! was written since the last sync. That is exactly the failure that force-logging in
//! two-phase commit guards against, so the model must not be kinder than a real disk.
//!
//! Sync is instantaneous in virtual time; its cost is counted (`syncs`), so a protocol's
//! forced writes per operation show up in its metrics.

use std::collections::BTreeMap;

/// Durable storage of one node; `R` is the protocol's record type.
#[derive(Clone, Debug)]
pub struct Storage<R> {
    /// What the node sees: the disk plus its unsynced writes.
    table: BTreeMap<String, R>,
    /// What is on disk.
    table_synced: BTreeMap<String, R>,
    /// Keys written (or removed) since the last sync, in order.
    table_dirty: Vec<String>,
    log: Vec<R>,
    log_synced_len: usize,
    syncs: u64,
    writes: u64,
}

impl<R> Default for Storage<R> {
    fn default() -> Self {
        Storage {
            table: BTreeMap::new(),
            table_synced: BTreeMap::new(),
            table_dirty: Vec::new(),
            log: Vec::new(),
            log_synced_len: 0,
            syncs: 0,
            writes: 0,
        }
    }
}

impl<R: Clone> Storage<R> {
    pub fn get(&self, key: &str) -> Option<&R> {
        self.table.get(key)
    }

    /// Writes `key`; durable only after the next [`sync`](Self::sync).
    pub fn put(&mut self, key: impl Into<String>, value: R) {
        let key = key.into();
        self.table_dirty.push(key.clone());
        self.table.insert(key, value);
        self.writes += 1;
    }

    /// Removes `key`; the removal is durable only after the next sync.
    pub fn remove(&mut self, key: &str) -> Option<R> {
        let old = self.table.remove(key);
        if old.is_some() {
            self.table_dirty.push(key.to_string());
            self.writes += 1;
        }
        old
    }

    /// The table's entries in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &R)> {
        self.table.iter()
    }

    /// Appends a record to the log; durable only after the next sync.
    pub fn append(&mut self, record: R) {
        self.log.push(record);
        self.writes += 1;
    }

    /// The log as the node sees it (synced records first, then unsynced ones).
    pub fn log(&self) -> &[R] {
        &self.log
    }

    /// Makes every write so far durable (fsync).
    pub fn sync(&mut self) {
        for key in self.table_dirty.drain(..) {
            match self.table.get(&key) {
                Some(v) => {
                    self.table_synced.insert(key, v.clone());
                }
                None => {
                    self.table_synced.remove(&key);
                }
            }
        }
        self.log_synced_len = self.log.len();
        self.syncs += 1;
    }

    /// Whether every write has been synced.
    pub fn is_synced(&self) -> bool {
        self.table_dirty.is_empty() && self.log_synced_len == self.log.len()
    }

    /// The power goes out: unsynced writes are lost.
    pub(crate) fn crash(&mut self) {
        if !self.table_dirty.is_empty() {
            self.table = self.table_synced.clone();
            self.table_dirty.clear();
        }
        self.log.truncate(self.log_synced_len);
    }

    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    pub fn writes(&self) -> u64 {
        self.writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsynced_writes_vanish_at_a_crash() {
        let mut s: Storage<u32> = Storage::default();
        s.put("a", 1);
        s.append(10);
        s.sync();
        s.put("a", 2);
        s.put("b", 3);
        s.append(11);
        assert_eq!(
            s.get("a"),
            Some(&2),
            "the node sees its own unsynced writes"
        );
        assert!(!s.is_synced());
        s.crash();
        assert_eq!(s.get("a"), Some(&1));
        assert_eq!(s.get("b"), None);
        assert_eq!(s.log(), &[10]);
        assert_eq!(s.syncs(), 1);
    }

    #[test]
    fn synced_removals_survive_and_unsynced_ones_do_not() {
        let mut s: Storage<u32> = Storage::default();
        s.put("a", 1);
        s.put("b", 2);
        s.sync();
        s.remove("a");
        s.sync();
        s.remove("b");
        s.crash();
        assert_eq!(s.get("a"), None);
        assert_eq!(s.get("b"), Some(&2));
        let keys: Vec<_> = s.entries().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b"]);
    }
}
