//! Room membership counts, so that deliveries can be counted without listing sockets, and
//! the links of the members that have one (see `link.rs`), so that a relay can say what it
//! queued for each.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::link::Link;

/// One room as a socket remembers it in its extensions: its name and its member count.
#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) name: String,
    members: AtomicU64,
    links: Mutex<Vec<Arc<Link>>>,
}

impl Room {
    /// Members right now, the sender included.
    pub(crate) fn members(&self) -> u64 {
        self.members.load(Ordering::Relaxed)
    }

    /// Adds `bytes` to what every member but `sender` is owed, and returns a member whose
    /// writer is now more than `limit` behind for a client that reads, if one is.
    pub(crate) fn owe(
        &self,
        bytes: u64,
        sender: Option<&Arc<Link>>,
        limit: u64,
    ) -> Option<Arc<Link>> {
        let links = self.links.lock().unwrap();
        let mut behind = None;
        for link in links.iter() {
            if sender.is_some_and(|s| Arc::ptr_eq(s, link)) {
                continue;
            }
            if link.owe(bytes) > limit && behind.is_none() && !link.blocked() {
                behind = Some(link.clone());
            }
        }
        behind
    }
}

/// The rooms a socket can be in, created on first join and forgotten when empty.
#[derive(Default)]
pub(crate) struct Rooms {
    by_name: Mutex<HashMap<String, Arc<Room>>>,
}

impl Rooms {
    pub(crate) fn enter(&self, name: &str, link: Option<&Arc<Link>>) -> Arc<Room> {
        let mut rooms = self.by_name.lock().unwrap();
        let room = rooms
            .entry(name.to_owned())
            .or_insert_with(|| {
                Arc::new(Room {
                    name: name.to_owned(),
                    members: AtomicU64::new(0),
                    links: Mutex::default(),
                })
            })
            .clone();
        room.members.fetch_add(1, Ordering::Relaxed);
        if let Some(link) = link {
            room.links.lock().unwrap().push(link.clone());
        }
        room
    }

    pub(crate) fn exit(&self, room: &Room, link: Option<&Arc<Link>>) {
        if let Some(link) = link {
            room.links.lock().unwrap().retain(|l| !Arc::ptr_eq(l, link));
        }
        let mut rooms = self.by_name.lock().unwrap();
        if room.members.fetch_sub(1, Ordering::Relaxed) == 1 {
            rooms.remove(&room.name);
        }
    }
}
