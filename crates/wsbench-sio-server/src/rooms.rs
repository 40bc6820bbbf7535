//! Room membership counts, so that deliveries can be counted without listing sockets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One room as a socket remembers it in its extensions: its name and its member count.
#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) name: String,
    members: AtomicU64,
}

impl Room {
    /// Members right now, the sender included.
    pub(crate) fn members(&self) -> u64 {
        self.members.load(Ordering::Relaxed)
    }
}

/// The rooms a socket can be in, created on first join and forgotten when empty.
#[derive(Default)]
pub(crate) struct Rooms {
    by_name: Mutex<HashMap<String, Arc<Room>>>,
}

impl Rooms {
    pub(crate) fn enter(&self, name: &str) -> Arc<Room> {
        let mut rooms = self.by_name.lock().unwrap();
        let room = rooms
            .entry(name.to_owned())
            .or_insert_with(|| {
                Arc::new(Room {
                    name: name.to_owned(),
                    members: AtomicU64::new(0),
                })
            })
            .clone();
        room.members.fetch_add(1, Ordering::Relaxed);
        room
    }

    pub(crate) fn exit(&self, room: &Room) {
        let mut rooms = self.by_name.lock().unwrap();
        if room.members.fetch_sub(1, Ordering::Relaxed) == 1 {
            rooms.remove(&room.name);
        }
    }
}
