//! Topic filters and matching (`mqtt_core::topic`): every example of MQTT 3.1.1 / MQTT 5
//! §4.7, invalid filters refused for the right reason, and fuzzing against a reference
//! matcher written here from the spec's words, independently of the one under test.
//!
//! CI runs `MQTT_FUZZ_CASES` cases (default 1000). For a long run:
//! `MQTT_FUZZ_CASES=1000000 cargo test --release -p mqtt-core --test topic`

mod common;

use mqtt_core::topic::{
    check_filter, has_wildcard, matches, subscription_id, valid_topic, FilterError, MAX_TOPIC_BYTES,
};
use proptest::prelude::*;

// ----- the spec's examples ---------------------------------------------------------------

/// §4.7.1.2: `sport/tennis/player1/#` matches the level itself and everything below it.
#[test]
fn multi_level_wildcard_matches_its_parent_and_every_level_below() {
    let f = "sport/tennis/player1/#";
    assert!(matches(f, "sport/tennis/player1"));
    assert!(matches(f, "sport/tennis/player1/ranking"));
    assert!(matches(f, "sport/tennis/player1/score/wimbledon"));
    assert!(!matches(f, "sport/tennis/player2"));
    assert!(!matches(f, "sport/tennis"));
    // "sport/#" also matches the singular "sport", since # includes the parent level.
    assert!(matches("sport/#", "sport"));
    assert!(matches("sport/#", "sport/"));
    assert!(!matches("sport/#", "sports"));
    assert!(!matches("sport/tennis/#", "sport"));
}

#[test]
fn multi_level_wildcard_alone_matches_every_topic_not_starting_with_dollar() {
    for topic in [
        "sport",
        "sport/tennis/player1",
        "/",
        "/finance",
        "a//b",
        " ",
    ] {
        assert!(matches("#", topic), "{topic}");
    }
}

/// §4.7.1.3: `+` matches exactly one level, which may be empty.
#[test]
fn single_level_wildcard_matches_exactly_one_level() {
    let f = "sport/tennis/+";
    assert!(matches(f, "sport/tennis/player1"));
    assert!(matches(f, "sport/tennis/player2"));
    assert!(!matches(f, "sport/tennis/player1/ranking"));
    // "sport/+" does not match "sport", but does match "sport/".
    assert!(!matches("sport/+", "sport"));
    assert!(matches("sport/+", "sport/"));
    assert!(matches("+", "sport"));
    assert!(!matches("+", "sport/tennis"));
}

#[test]
fn single_level_wildcard_works_at_every_level() {
    let topic = "sport/tennis/player1";
    for f in [
        "+/tennis/player1",
        "sport/+/player1",
        "sport/tennis/+",
        "+/+/player1",
        "+/+/+",
        "+/tennis/#",
    ] {
        assert!(matches(f, topic), "{f}");
    }
    for f in [
        "+/player1",
        "+/+",
        "+/+/+/+",
        "+/tennis",
        "+/football/player1",
    ] {
        assert!(!matches(f, topic), "{f}");
    }
}

/// §4.7.1.3: "/finance" matches "+/+" and "/+", but not "+".
#[test]
fn empty_levels_are_levels() {
    assert!(matches("+/+", "/finance"));
    assert!(matches("/+", "/finance"));
    assert!(!matches("+", "/finance"));
    assert!(matches("/finance", "/finance"));
    assert!(!matches("finance", "/finance"));
    assert!(matches("+/+", "/"));
    assert!(!matches("+", "/"));
    assert!(matches("+//+", "a//b"));
    assert!(!matches("+/+", "a//b"));
    assert!(matches("sport/", "sport/"));
    assert!(!matches("sport", "sport/"));
}

/// §4.7.2: a filter starting with a wildcard does not match a topic starting with `$`.
#[test]
fn dollar_topics_are_not_matched_by_a_leading_wildcard() {
    assert!(!matches("#", "$SYS"));
    assert!(!matches("#", "$SYS/uptime"));
    assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
    assert!(!matches("+", "$SYS"));
    assert!(!matches("+/#", "$SYS/broker"));
    assert!(matches("$SYS/#", "$SYS/"));
    assert!(matches("$SYS/#", "$SYS"));
    assert!(matches("$SYS/#", "$SYS/broker/clients/connected"));
    assert!(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
    assert!(matches("$SYS/monitor/Clients", "$SYS/monitor/Clients"));
    // Only the first character counts: `$` further in is an ordinary character.
    assert!(matches("#", "sys/$SYS"));
    assert!(matches("+/+", "a/$b"));
    assert!(matches("+/monitor/Clients", "SYS/monitor/Clients"));
}

/// §4.7.3: matching is exact and case sensitive; spaces are characters like any other.
#[test]
fn topic_names_compare_exactly() {
    assert!(!matches("ACCOUNTS", "Accounts"));
    assert!(matches("Accounts payable", "Accounts payable"));
    assert!(!matches("Accounts payable", "Accounts  payable"));
    assert!(matches("sport/tennis/player1", "sport/tennis/player1"));
    assert!(!matches("sport/tennis/player1", "sport/tennis/player1/"));
}

#[test]
fn valid_filters_of_the_spec_are_accepted() {
    for f in [
        "sport/tennis/player1/#",
        "sport/#",
        "#",
        "sport/tennis/#",
        "+",
        "+/tennis/#",
        "sport/+/player1",
        "+/+",
        "/+",
        "+/monitor/Clients",
        "$SYS/#",
        "$SYS/monitor/+",
        "/",
        "//",
        "/finance",
        "a".repeat(MAX_TOPIC_BYTES).as_str(),
    ] {
        assert_eq!(check_filter(f), Ok(()), "{f}");
    }
}

#[test]
fn invalid_filters_are_refused_for_the_right_reason() {
    let long = "a".repeat(MAX_TOPIC_BYTES + 1);
    let cases = [
        ("a/#/b", FilterError::MultiLevelNotLast),
        ("sport/tennis/#/ranking", FilterError::MultiLevelNotLast),
        ("#/a", FilterError::MultiLevelNotLast),
        ("#a", FilterError::MultiLevelNotLast),
        ("a/b#", FilterError::MultiLevelNotLast),
        ("sport/tennis#", FilterError::MultiLevelNotLast),
        ("##", FilterError::MultiLevelNotLast),
        ("a+", FilterError::SingleLevelNotAlone),
        ("sport+", FilterError::SingleLevelNotAlone),
        ("+a/b", FilterError::SingleLevelNotAlone),
        ("a/++", FilterError::SingleLevelNotAlone),
        ("", FilterError::Empty),
        ("a\0b", FilterError::Nul),
        ("\0", FilterError::Nul),
        (long.as_str(), FilterError::TooLong),
    ];
    for (filter, error) in cases {
        let shown = &filter[..filter.len().min(30)];
        assert_eq!(check_filter(filter), Err(error), "{shown:?}");
        // An invalid filter matches nothing, not even its own text.
        assert!(!matches(filter, filter), "{shown:?}");
        assert!(!matches(filter, "a/b"), "{shown:?}");
    }
}

#[test]
fn filter_errors_are_in_words() {
    let all = [
        FilterError::Empty,
        FilterError::TooLong,
        FilterError::Nul,
        FilterError::MultiLevelNotLast,
        FilterError::SingleLevelNotAlone,
    ];
    let words: Vec<String> = all.iter().map(ToString::to_string).collect();
    for (error, text) in all.iter().zip(&words) {
        assert!(text.starts_with(|c: char| c.is_alphanumeric() || c == '#' || c == '+'));
        assert!(!text.contains(&format!("{error:?}")), "{text}");
    }
    let mut unique = words.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), words.len(), "each reason has its own words");
    assert!(words[3].contains("sport/#"));
    assert!(words[4].contains("sport/+"));
}

#[test]
fn topic_names_have_no_wildcards_nul_or_emptiness() {
    for t in ["sport", "/", "$SYS/uptime", "a b", "ü/€"] {
        assert!(valid_topic(t), "{t}");
    }
    let long = "a".repeat(MAX_TOPIC_BYTES + 1);
    for t in ["", "a/+", "#", "a+b", "a\0", long.as_str()] {
        assert!(!valid_topic(t), "{:?}", &t[..t.len().min(10)]);
        // A topic that is not one matches nothing.
        assert!(!matches("#", t));
    }
    assert!(valid_topic(&"a".repeat(MAX_TOPIC_BYTES)));
}

#[test]
fn wildcards_are_found() {
    assert!(has_wildcard("sport/#"));
    assert!(has_wildcard("+"));
    assert!(has_wildcard("a/+/b"));
    assert!(!has_wildcard("sport/tennis"));
    assert!(!has_wildcard("$SYS"));
}

/// FNV-1a (32 bit) of the filter's bytes, mod 268,435,455, plus 1: these values must never
/// change, or a resumed session's queued messages would name the wrong subscriptions.
#[test]
fn subscription_ids_are_fixed_values_in_range() {
    assert_eq!(subscription_id(""), 18_652_622);
    assert_eq!(subscription_id("a"), 67_905_851);
    assert_eq!(subscription_id("messages"), 230_850);
    assert_eq!(subscription_id("rooms/+/messages"), 180_650_448);
    assert_eq!(subscription_id("chat/presence/#"), 164_857_721);
    assert_ne!(subscription_id("rooms/a"), subscription_id("rooms/b"));
}

// ----- fuzzing -----------------------------------------------------------------------------

fn cases() -> u32 {
    common::fuzz_cases(1_000)
}

/// The reference: MQTT §4.7 read level by level, over slices.
mod reference {
    pub fn valid_filter(filter: &str) -> bool {
        let levels: Vec<&str> = filter.split('/').collect();
        !filter.is_empty()
            && filter.len() <= 65_535
            && !filter.contains('\0')
            && levels.iter().enumerate().all(|(i, l)| {
                *l == "+" || (*l == "#" && i == levels.len() - 1) || !l.contains(['+', '#'])
            })
    }

    pub fn valid_topic(topic: &str) -> bool {
        !topic.is_empty() && topic.len() <= 65_535 && !topic.contains(['+', '#', '\0'])
    }

    fn levels(filter: &[&str], topic: &[&str]) -> bool {
        match (filter, topic) {
            // `#` is the rest: any number of levels, none included (the parent level).
            (["#"], _) => true,
            (["+", f @ ..], [_, t @ ..]) => levels(f, t),
            ([fl, f @ ..], [tl, t @ ..]) => fl == tl && levels(f, t),
            ([], []) => true,
            _ => false,
        }
    }

    pub fn matches(filter: &str, topic: &str) -> bool {
        if !valid_filter(filter) || !valid_topic(topic) {
            return false;
        }
        let f: Vec<&str> = filter.split('/').collect();
        let t: Vec<&str> = topic.split('/').collect();
        // A topic starting with `$` is never matched by a wildcard in the first level.
        if t[0].starts_with('$') && (f[0] == "+" || f[0] == "#") {
            return false;
        }
        levels(&f, &t)
    }
}

/// Levels from `alphabet`, 1 to 5 of them, joined by `/`.
fn shaped(alphabet: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(alphabet), 1..=5).prop_map(|l| l.join("/"))
}

const FILTER_LEVELS: &[&str] = &["a", "b", "$x", "", "+", "#"];
const TOPIC_LEVELS: &[&str] = &["a", "b", "$x", ""];

/// Topic-shaped strings, mostly valid topic names.
fn topic_like() -> impl Strategy<Value = String> {
    prop_oneof![3 => shaped(TOPIC_LEVELS), 1 => shaped(FILTER_LEVELS)]
}

/// Anything, with the characters that matter to topics made common.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a/+#$\0 ü]{0,12}",
        proptest::collection::vec("[a$]?|/|\\+|#|\0", 0..10).prop_map(|p| p.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn nothing_panics_on_any_string(filter in any_text(), topic in any_text()) {
        let ok = check_filter(&filter).is_ok();
        let matched = matches(&filter, &topic);
        prop_assert!(!matched || (ok && valid_topic(&topic)));
        let _ = has_wildcard(&filter);
        prop_assert!((1..=268_435_455).contains(&subscription_id(&filter)));
        if let Err(e) = check_filter(&filter) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn agrees_with_the_reference_on_filter_and_topic_shaped_strings(
        filter in shaped(FILTER_LEVELS),
        topic in topic_like(),
    ) {
        prop_assert_eq!(check_filter(&filter).is_ok(), reference::valid_filter(&filter));
        prop_assert_eq!(valid_topic(&topic), reference::valid_topic(&topic));
        prop_assert_eq!(
            matches(&filter, &topic),
            reference::matches(&filter, &topic),
            "filter {:?} topic {:?}", filter, topic
        );
    }

    #[test]
    fn agrees_with_the_reference_on_any_string(filter in any_text(), topic in any_text()) {
        prop_assert_eq!(check_filter(&filter).is_ok(), reference::valid_filter(&filter));
        prop_assert_eq!(valid_topic(&topic), reference::valid_topic(&topic));
        prop_assert_eq!(matches(&filter, &topic), reference::matches(&filter, &topic));
    }

    #[test]
    fn a_filter_without_wildcards_matches_exactly_itself(
        filter in prop_oneof![shaped(TOPIC_LEVELS), any_text()],
        topic in prop_oneof![shaped(TOPIC_LEVELS), any_text()],
    ) {
        if !valid_topic(&filter) {
            return Ok(());
        }
        prop_assert!(!has_wildcard(&filter));
        prop_assert_eq!(check_filter(&filter), Ok(()));
        prop_assert!(matches(&filter, &filter));
        prop_assert_eq!(matches(&filter, &topic), filter == topic);
    }

    #[test]
    fn hash_matches_every_topic_not_starting_with_dollar(
        topic in prop_oneof![topic_like(), any_text()],
    ) {
        prop_assert_eq!(
            matches("#", &topic),
            valid_topic(&topic) && !topic.starts_with('$')
        );
        // ...and `$SYS/#`-style filters are how `$` topics are reached.
        if valid_topic(&topic) && topic.len() + 2 <= MAX_TOPIC_BYTES {
            let below = format!("{topic}/#");
            prop_assert!(matches(&below, &topic), "the parent level of {}", below);
            let child = format!("{topic}/x");
            prop_assert!(matches(&below, &child));
        }
    }
}
