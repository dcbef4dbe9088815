//! The canonical JSON form of a normalized document.
//!
//! Rules (each normalized value has exactly one rendering, so equal documents print the same and
//! different ones print differently): object keys sorted; `Statement` always a list, its
//! statements in the normalized sort order; every other list of values (Action, NotAction,
//! Resource, NotResource, principal values, condition values) written as a plain value when it
//! has one element and as a sorted list otherwise; action names and condition keys lowercase;
//! an account principal as its 12-digit account id; the everyone principal as `"*"`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::normalize::{Canon, CondEntry, Doc, Principals, Stmt};

/// A value under some key of an object, so that known and unknown members can be sorted together.
enum Member<'a> {
    Text(&'a str),
    Values(&'a [String]),
    Principals(&'a Principals),
    Condition(&'a [CondEntry]),
    Statements(&'a [Stmt]),
    Canon(&'a Canon),
}

impl Serialize for Member<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Member::Text(t) => s.serialize_str(t),
            Member::Values(v) => Values(v).serialize(s),
            Member::Principals(p) => p.serialize(s),
            Member::Condition(c) => Operators(c).serialize(s),
            Member::Statements(list) => s.collect_seq(list.iter()),
            Member::Canon(c) => c.serialize(s),
        }
    }
}

/// Writes members sorted by key.
fn write_object<S: Serializer>(
    s: S,
    mut members: Vec<(&str, Member<'_>)>,
) -> Result<S::Ok, S::Error> {
    members.sort_by(|a, b| a.0.cmp(b.0));
    let mut map = s.serialize_map(Some(members.len()))?;
    for (k, v) in &members {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut members = Vec::with_capacity(3 + self.extra.len());
        if let Some(id) = &self.id {
            members.push(("Id", Member::Text(id)));
        }
        members.push(("Statement", Member::Statements(&self.statements)));
        if let Some(v) = &self.version {
            members.push(("Version", Member::Text(v)));
        }
        members.extend(
            self.extra
                .iter()
                .map(|(k, v)| (k.as_str(), Member::Canon(v))),
        );
        write_object(s, members)
    }
}

impl Serialize for Stmt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut members = Vec::with_capacity(8 + self.extra.len());
        if let Some(sid) = &self.sid {
            members.push(("Sid", Member::Text(sid)));
        }
        if let Some(e) = self.effect {
            members.push(("Effect", Member::Text(e.as_str())));
        }
        if let Some(p) = &self.principal {
            members.push(("Principal", Member::Principals(p)));
        }
        if let Some(p) = &self.not_principal {
            members.push(("NotPrincipal", Member::Principals(p)));
        }
        for (name, list) in [
            ("Action", &self.action),
            ("NotAction", &self.not_action),
            ("Resource", &self.resource),
            ("NotResource", &self.not_resource),
        ] {
            if let Some(list) = list {
                members.push((name, Member::Values(list)));
            }
        }
        if !self.condition.is_empty() {
            members.push(("Condition", Member::Condition(&self.condition)));
        }
        members.extend(
            self.extra
                .iter()
                .map(|(k, v)| (k.as_str(), Member::Canon(v))),
        );
        write_object(s, members)
    }
}

/// A set of strings: a plain string when it has one element.
struct Values<'a>(&'a [String]);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            [one] => s.serialize_str(one),
            many => s.collect_seq(many.iter()),
        }
    }
}

impl Serialize for Principals {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_only_everyone() {
            return s.serialize_str("*");
        }
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (kind, values) in &self.0 {
            map.serialize_entry(kind, &Values(values))?;
        }
        map.end()
    }
}

/// Condition entries (sorted by operator, then key) grouped back into operator → key → values.
struct Operators<'a>(&'a [CondEntry]);

impl Serialize for Operators<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for group in self.0.chunk_by(|a, b| a.operator == b.operator) {
            map.serialize_entry(&group[0].operator, &Keys(group))?;
        }
        map.end()
    }
}

/// The keys under one condition operator.
struct Keys<'a>(&'a [CondEntry]);

impl Serialize for Keys<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for e in self.0 {
            map.serialize_entry(&e.key, &e.values)?;
        }
        map.end()
    }
}

impl Serialize for Canon {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Canon::Null => s.serialize_unit(),
            Canon::Text(t) => s.serialize_str(t),
            Canon::Set(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Canon::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}
