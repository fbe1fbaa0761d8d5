//! The latest view of every member, shared between the observer (writer) and the engine
//! (health waits, fault target resolution).
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::timeline::{MemberView, Millis};

/// Latest observation per member, with the time it was made.
#[derive(Debug, Clone, Default)]
pub struct LiveView {
    inner: Arc<RwLock<BTreeMap<String, (MemberView, Millis)>>>,
}

impl LiveView {
    /// Stores a member's latest view.
    pub fn update(&self, member: &str, view: MemberView, at: Millis) {
        self.inner.write().expect("live view lock poisoned").insert(member.to_string(), (view, at));
    }

    /// A copy of the latest views, ordered by member name.
    pub fn snapshot(&self) -> BTreeMap<String, (MemberView, Millis)> {
        self.inner.read().expect("live view lock poisoned").clone()
    }

    /// Members currently seen as running primaries.
    pub fn running_primaries(&self) -> Vec<String> {
        self.snapshot().into_iter().filter(|(_, (v, _))| v.is_running_primary()).map(|(m, _)| m).collect()
    }

    /// One line describing every member, for "last seen" messages.
    pub fn describe(&self) -> String {
        let parts: Vec<String> =
            self.snapshot().iter().map(|(m, (v, _))| format!("{m}: {}", describe_view(v))).collect();
        if parts.is_empty() {
            "nothing observed yet".into()
        } else {
            parts.join(", ")
        }
    }
}

/// A short text for one view ("replica streaming tl 2", "unreachable (timeout)").
pub fn describe_view(view: &MemberView) -> String {
    if !view.reachable {
        return format!("unreachable ({})", view.error.as_deref().unwrap_or("no answer"));
    }
    let role = view.role.map(|r| format!("{r:?}").to_lowercase()).unwrap_or_else(|| "?".into());
    let state = view.state.as_deref().unwrap_or("?");
    let sync = if view.sync_standby { " (sync)" } else { "" };
    match view.timeline {
        Some(tl) => format!("{role} {state} tl {tl}{sync}"),
        None => format!("{role} {state}{sync}"),
    }
}
