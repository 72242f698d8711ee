//! The topic tree: every topic seen under the watched filters, nested by level, each with
//! its last value, the one before, and how many messages came.
//!
//! Bounded like the latest view: at most [`TREE_CAPACITY`] topics (and
//! [`TREE_TOPIC_BYTES`] of their names); past it, the least recently updated goes and is
//! counted. The rows the page shows are made by [`Tree::rows`]: one pass over the topics in
//! level order, so 10,000 topics cost one walk, and a collapsed level hides its subtree
//! while still counting it.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use crate::watch::Seen;

/// Topics the tree holds at most (state M of the tree).
pub const TREE_CAPACITY: usize = 10_000;
/// Bytes of topic names the tree holds at most.
pub const TREE_TOPIC_BYTES: usize = 4 << 20;
/// Levels shown at most; deeper levels are folded into the last one's name.
pub const MAX_DEPTH: usize = 64;

/// One topic: its last message, the one before, and how many came.
#[derive(Clone, Debug)]
pub struct Leaf {
    pub last: Arc<Seen>,
    pub previous: Option<Arc<Seen>>,
    pub count: u64,
    topic: String,
}

impl Leaf {
    /// The whole topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

/// The topics seen, in level order.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// By the topic with each `/` made NUL (which no topic holds), so that the order is
    /// level by level: `a/b` sorts before `a-c`, and a level's subtree is contiguous.
    by_key: BTreeMap<String, Leaf>,
    /// Key by the seq of its last message, oldest first.
    by_age: BTreeMap<u64, String>,
    topic_bytes: usize,
    evicted: u64,
}

fn key_of(topic: &str) -> String {
    topic.replace('/', "\0")
}

/// One row the page shows: a level of some topic.
#[derive(Clone, Debug)]
pub struct TreeRow<'a> {
    /// The full topic of this level, e.g. `site/dev3` (the row's `data-topic`).
    pub path: &'a str,
    /// This level's own name, e.g. `dev3`.
    pub name: &'a str,
    /// 0 for a first level.
    pub depth: usize,
    /// The topic's own messages, if messages came on exactly this topic.
    pub leaf: Option<&'a Leaf>,
    /// Messages on this level and everything under it.
    pub messages: u64,
    /// Topics at this level and under it.
    pub topics: usize,
    pub has_children: bool,
    /// Shown open (false also for a level with no children).
    pub expanded: bool,
}

struct Open<'a> {
    /// This level's full path (a slice of the topic that opened it).
    path: &'a str,
    row: Option<usize>,
    expanded: bool,
    visible: bool,
}

impl Tree {
    /// A message came.
    pub fn receive(&mut self, topic: &str, seen: Arc<Seen>) {
        let key = key_of(topic);
        let seq = seen.seq;
        let leaf = match self.by_key.remove(&key) {
            Some(old) => {
                self.by_age.remove(&old.last.seq);
                Leaf {
                    previous: Some(old.last),
                    last: seen,
                    count: old.count + 1,
                    topic: old.topic,
                }
            }
            None => {
                while self.by_key.len() >= TREE_CAPACITY
                    || (self.topic_bytes + topic.len() > TREE_TOPIC_BYTES
                        && !self.by_key.is_empty())
                {
                    let Some((_, oldest)) = self.by_age.pop_first() else {
                        break;
                    };
                    if let Some(gone) = self.by_key.remove(&oldest) {
                        self.topic_bytes -= gone.topic.len();
                    }
                    self.evicted += 1;
                }
                self.topic_bytes += topic.len();
                Leaf {
                    last: seen,
                    previous: None,
                    count: 1,
                    topic: topic.to_owned(),
                }
            }
        };
        self.by_age.insert(seq, key.clone());
        self.by_key.insert(key, leaf);
    }

    /// Topics held.
    pub fn topics(&self) -> usize {
        self.by_key.len()
    }

    /// Topics dropped to keep the tree bounded, since the last clear.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn leaf(&self, topic: &str) -> Option<&Leaf> {
        self.by_key.get(&key_of(topic))
    }

    /// Every topic, in level order.
    pub fn leaves(&self) -> impl Iterator<Item = &Leaf> {
        self.by_key.values()
    }

    /// The rows to show, in order: every level of every topic, except under a level in
    /// `collapsed` (by full path), which still counts what it hides.
    pub fn rows<'a>(&'a self, collapsed: &HashSet<String>) -> Vec<TreeRow<'a>> {
        let mut rows: Vec<TreeRow<'a>> = Vec::with_capacity(self.by_key.len() + 16);
        let mut open: Vec<Open<'a>> = Vec::new();
        // Level ends (byte offsets of each level's end), at most MAX_DEPTH: one buffer for
        // every topic, as this runs once a frame over up to 10,000 of them.
        let mut ends: Vec<usize> = Vec::with_capacity(MAX_DEPTH);
        for leaf in self.by_key.values() {
            let topic = leaf.topic.as_str();
            ends.clear();
            ends.extend(topic.match_indices('/').map(|(i, _)| i).take(MAX_DEPTH - 1));
            ends.push(topic.len());
            // Keep the open levels this topic shares.
            let mut shared = 0;
            while shared < open.len()
                && shared < ends.len()
                && open[shared].path == &topic[..ends[shared]]
            {
                shared += 1;
            }
            open.truncate(shared);
            for (depth, &end) in ends.iter().enumerate().skip(shared) {
                let parent_visible = open.last().is_none_or(|p| p.visible && p.expanded);
                if let Some(parent) = open.last() {
                    if let Some(r) = parent.row {
                        rows[r].has_children = true;
                    }
                }
                let path = &topic[..end];
                let start = if depth == 0 { 0 } else { ends[depth - 1] + 1 };
                let expanded = !collapsed.contains(path);
                let row = parent_visible.then(|| {
                    rows.push(TreeRow {
                        path,
                        name: &topic[start..end],
                        depth,
                        leaf: None,
                        messages: 0,
                        topics: 0,
                        has_children: false,
                        expanded,
                    });
                    rows.len() - 1
                });
                open.push(Open {
                    path,
                    row,
                    expanded,
                    visible: parent_visible,
                });
            }
            if let Some(r) = open.last().and_then(|o| o.row) {
                rows[r].leaf = Some(leaf);
            }
            for o in &open {
                if let Some(r) = o.row {
                    rows[r].messages += leaf.count;
                    rows[r].topics += 1;
                }
            }
        }
        for row in &mut rows {
            row.expanded &= row.has_children;
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(seq: u64, topic: &str, text: &str) -> Arc<Seen> {
        Arc::new(Seen::test(seq, topic, text.as_bytes(), seq as f64))
    }

    fn tree(topics: &[&str]) -> Tree {
        let mut t = Tree::default();
        for (i, topic) in topics.iter().enumerate() {
            t.receive(topic, seen(i as u64 + 1, topic, "v"));
        }
        t
    }

    fn shape(rows: &[TreeRow<'_>]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                format!(
                    "{}{} {}/{}{}{}",
                    "  ".repeat(r.depth),
                    r.path,
                    r.messages,
                    r.topics,
                    if r.leaf.is_some() { " *" } else { "" },
                    match (r.has_children, r.expanded) {
                        (false, _) => "",
                        (true, true) => " -",
                        (true, false) => " +",
                    }
                )
            })
            .collect()
    }

    #[test]
    fn topics_nest_by_level_with_counts() {
        let mut t = tree(&[
            "site/dev3/temp",
            "site/dev3",
            "site/dev10/temp",
            "a-b",
            "site/dev3/temp",
        ]);
        t.receive("a", seen(9, "a", "x"));
        let rows = t.rows(&HashSet::new());
        assert_eq!(
            shape(&rows),
            [
                "a 1/1 *",
                "a-b 1/1 *",
                "site 4/3 -",
                "  site/dev10 1/1 -",
                "    site/dev10/temp 1/1 *",
                "  site/dev3 3/2 * -",
                "    site/dev3/temp 2/1 *",
            ]
        );
        assert_eq!(rows[5].name, "dev3");
        let leaf = t.leaf("site/dev3/temp").unwrap();
        assert_eq!(leaf.count, 2);
        assert_eq!(leaf.previous.as_ref().unwrap().seq, 1);
        assert_eq!(leaf.last.seq, 5);
    }

    #[test]
    fn a_collapsed_level_hides_its_subtree_but_counts_it() {
        let t = tree(&["site/dev1/t", "site/dev2/t", "site/dev2/h", "other"]);
        let collapsed: HashSet<String> = ["site/dev2".to_owned()].into();
        assert_eq!(
            shape(&t.rows(&collapsed)),
            [
                "other 1/1 *",
                "site 3/3 -",
                "  site/dev1 1/1 -",
                "    site/dev1/t 1/1 *",
                "  site/dev2 2/2 +",
            ]
        );
        let collapsed: HashSet<String> = ["site".to_owned()].into();
        assert_eq!(shape(&t.rows(&collapsed)), ["other 1/1 *", "site 3/3 +"]);
    }

    #[test]
    fn odd_topics_keep_their_levels() {
        let t = tree(&["/a", "a//b", "$SYS/x"]);
        let rows = t.rows(&HashSet::new());
        let paths: Vec<&str> = rows.iter().map(|r| r.path).collect();
        assert_eq!(paths, ["", "/a", "$SYS", "$SYS/x", "a", "a/", "a//b"]);
        let deep = "x/".repeat(200) + "end";
        let t = tree(&[&deep]);
        let rows = t.rows(&HashSet::new());
        assert_eq!(rows.len(), MAX_DEPTH);
        assert_eq!(rows.last().unwrap().path, deep);
    }

    #[test]
    fn the_tree_is_bounded_and_counts_evictions() {
        let mut t = Tree::default();
        for i in 0..TREE_CAPACITY + 3 {
            let topic = format!("d/{i}");
            t.receive(&topic, seen(i as u64 + 1, &topic, "1"));
        }
        assert_eq!(t.topics(), TREE_CAPACITY);
        assert_eq!(t.evicted(), 3);
        assert!(t.leaf("d/0").is_none());
        assert!(t.leaf("d/3").is_some());
        // Updating a topic makes it the newest.
        t.receive("d/3", seen(100_000, "d/3", "2"));
        t.receive("new", seen(100_001, "new", "1"));
        assert!(t.leaf("d/3").is_some());
        assert!(t.leaf("d/4").is_none());
        let rows = t.rows(&HashSet::new());
        assert_eq!(rows.len(), TREE_CAPACITY + 1);
    }
}
