//! Who may create jobs by writing to the queue or the bucket directly.

/// Who may put work on the queue directly (a message for a job the API did
/// not create makes the job, owned by the message's `owner`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// Any owner: for tests and trusted single-tenant set-ups.
    AnyOwner,
    /// Only these owners (`FERRY_UPSTREAM_OWNERS`); empty: nobody.
    Only(std::collections::BTreeSet<String>),
}

impl Upstream {
    /// The value of `FERRY_UPSTREAM_OWNERS`: comma-separated owners, or `*`
    /// for any. Empty (or unset): no upstream system may create jobs.
    pub fn parse(value: &str) -> Upstream {
        if value.trim() == "*" {
            return Upstream::AnyOwner;
        }
        Upstream::Only(value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
    }

    pub fn allows(&self, owner: &str) -> bool {
        match self {
            Upstream::AnyOwner => true,
            Upstream::Only(owners) => owners.contains(owner),
        }
    }

    /// The listed owner whose storage segment is `segment` (a long owner's
    /// hashed form cannot be decoded, only matched; with `*` it is unknown).
    pub fn owner_with_segment(&self, segment: &str) -> Option<String> {
        match self {
            Upstream::AnyOwner => None,
            Upstream::Only(owners) => owners.iter().find(|o| ferry_core::message::owner_segment(o) == segment).cloned(),
        }
    }
}
