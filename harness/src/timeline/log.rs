//! Storage for the timeline: a plain vector for checks and reports, and a cloneable writer
//! handle for the tasks that append to it during a run.
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{Event, EventKind, Millis};

/// A finished (or snapshotted) timeline, ordered by time of append.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Events in append order (non-decreasing `at`).
    pub events: Vec<Event>,
}

impl Timeline {
    /// Builds a timeline from events (tests build synthetic ones this way).
    pub fn from_events(events: Vec<Event>) -> Self {
        Self { events }
    }

    /// The time of the last event, or 0.
    pub fn end(&self) -> Millis {
        self.events.last().map_or(0, |e| e.at)
    }

    /// Events in `[from, ..)`.
    pub fn since(&self, from: Millis) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(move |e| e.at >= from)
    }
}

/// The handle observers, the workload and the fault injector append through.
#[derive(Debug, Clone)]
pub struct TimelineWriter {
    start: Instant,
    /// The wall-clock time of `start`, to place timestamps of other processes (container logs).
    wall_start: std::time::SystemTime,
    events: Arc<Mutex<Vec<Event>>>,
}

impl TimelineWriter {
    /// Starts a timeline whose zero is now.
    pub fn start_now() -> Self {
        Self {
            start: Instant::now(),
            wall_start: std::time::SystemTime::now(),
            events: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The timeline time of a wall-clock instant (containers share the host's clock); `None`
    /// before the run started.
    pub fn at_wall(&self, wall: std::time::SystemTime) -> Option<Millis> {
        wall.duration_since(self.wall_start).ok().map(|d| d.as_millis() as Millis)
    }

    /// The wall-clock time of the timeline's zero.
    pub fn wall_zero(&self) -> std::time::SystemTime {
        self.wall_start
    }

    /// The most recent event for which `pick` returns something, and that something.
    pub fn latest<T>(&self, pick: impl Fn(&EventKind) -> Option<T>) -> Option<(Millis, T)> {
        let events = self.events.lock().expect("timeline lock poisoned");
        events.iter().rev().find_map(|e| pick(&e.kind).map(|t| (e.at, t)))
    }

    /// Milliseconds since the run started.
    pub fn now(&self) -> Millis {
        self.start.elapsed().as_millis() as Millis
    }

    /// The instant the timeline's zero stands for.
    pub fn zero(&self) -> Instant {
        self.start
    }

    /// Appends an event stamped now, returning its time.
    pub fn record(&self, kind: EventKind) -> Millis {
        let mut events = self.events.lock().expect("timeline lock poisoned");
        // Stamp under the lock so `at` never decreases along the vector.
        let at = self.now();
        events.push(Event { at, kind });
        at
    }

    /// Inserts an event that happened at `at` (e.g. read afterwards from a container's log),
    /// keeping the events in time order.
    pub fn record_at(&self, at: Millis, kind: EventKind) {
        let mut events = self.events.lock().expect("timeline lock poisoned");
        let position = events.partition_point(|e| e.at <= at);
        events.insert(position, Event { at, kind });
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> Timeline {
        Timeline { events: self.events.lock().expect("timeline lock poisoned").clone() }
    }
}
