//! The topic viewer's state: filters checked before anything is sent, payloads shown as
//! text or hex and cut, a bounded stream, a bounded latest-by-topic table, pause, clear and
//! the rate, on a virtual clock.

use chat::watch::{
    body_of, size_words, Body, FilterState, Watch, WatchError, LATEST_CAPACITY, MAX_WATCHED,
    SHOWN_BYTES, SHOWN_HEX_BYTES, STREAM_CAPACITY,
};
use mqtt_core::topic::FilterError;
use mqtt_core::QoS;

const Q0: QoS = QoS::AtMostOnce;

#[test]
fn invalid_filters_are_refused_in_words() {
    let mut w = Watch::default();
    for (bad, why) in [
        ("a/#/b", FilterError::MultiLevelNotLast),
        ("#a", FilterError::MultiLevelNotLast),
        ("a+", FilterError::SingleLevelNotAlone),
        ("", FilterError::Empty),
        ("a\0b", FilterError::Nul),
    ] {
        let e = w.add_filter(bad, Q0).unwrap_err();
        assert_eq!(e, WatchError::Invalid(why), "{bad:?}");
        assert!(
            e.to_string().starts_with("Not a valid topic filter: "),
            "{e}"
        );
    }
    assert!(w.filters().is_empty());
    assert!(WatchError::Invalid(FilterError::MultiLevelNotLast)
        .to_string()
        .contains("last level"));
}

#[test]
fn filters_are_kept_once_with_their_state_and_bounded() {
    let mut w = Watch::default();
    w.add_filter("matches/#", QoS::AtLeastOnce).unwrap();
    assert_eq!(
        w.add_filter("matches/#", Q0),
        Err(WatchError::Already("matches/#".into()))
    );
    assert_eq!(w.filters()[0].state, FilterState::Pending);
    w.set_state("matches/#", FilterState::Active(QoS::AtLeastOnce));
    w.add_filter("$SYS/#", Q0).unwrap();
    w.set_state("$SYS/#", FilterState::Refused("not authorized".into()));
    assert_eq!(w.filters()[0].state, FilterState::Active(QoS::AtLeastOnce));
    assert!(matches!(w.filters()[1].state, FilterState::Refused(_)));
    assert!(w.set_qos("matches/#", Q0));
    assert_eq!(w.filters()[0].qos, Q0);
    assert!(!w.set_qos("not/watched", Q0));
    assert!(w.remove_filter("matches/#"));
    assert!(!w.remove_filter("matches/#"));
    for i in 1..MAX_WATCHED {
        w.add_filter(&format!("f/{i}"), Q0).unwrap();
    }
    assert_eq!(w.add_filter("one/more", Q0), Err(WatchError::TooMany));
}

#[test]
fn payloads_show_as_text_or_hex_and_are_cut_with_their_size() {
    assert_eq!(
        body_of(b"<b>hi</b>"),
        Body::Text {
            text: "<b>hi</b>".into(),
            cut: false
        }
    );
    assert_eq!(
        body_of(&[0xff, 0x00, 0x41]),
        Body::Hex {
            hex: "ff 00 41".into(),
            cut: false
        }
    );
    // Cut at a character boundary, never inside one.
    let long = "é".repeat(SHOWN_BYTES);
    let Body::Text { text, cut } = body_of(long.as_bytes()) else {
        panic!("text");
    };
    assert!(cut);
    assert!(text.len() <= SHOWN_BYTES && text.len() >= SHOWN_BYTES - 1);
    // A megabyte of binary shows its first bytes, 16 to a line.
    let mut big = vec![0xfe_u8; 1 << 20];
    big[1] = 0x01;
    let Body::Hex { hex, cut } = body_of(&big) else {
        panic!("hex");
    };
    assert!(cut);
    assert!(hex.starts_with("fe 01 fe"));
    assert_eq!(hex.lines().count(), SHOWN_HEX_BYTES / 16);
    assert_eq!(size_words(1 << 20), "1.0 MiB");
    assert_eq!(size_words(1536), "1.5 KiB");
    assert_eq!(size_words(12), "12 B");
}

#[test]
fn json_is_pretty_printed_only_when_whole() {
    let mut w = Watch::default();
    w.receive("a", br#"{"score":[1,2],"team":"<x>"}"#, Q0, false, 0.0);
    w.receive("b", b"not json", Q0, false, 0.0);
    w.receive("c", b"42", Q0, false, 0.0);
    let big = format!(r#"{{"k":"{}"}}"#, "x".repeat(SHOWN_BYTES));
    w.receive("d", big.as_bytes(), Q0, false, 0.0);
    let rows = w.stream();
    assert_eq!(
        rows[0].pretty_json().as_deref(),
        Some("{\n  \"score\": [\n    1,\n    2\n  ],\n  \"team\": \"<x>\"\n}")
    );
    assert_eq!(rows[1].pretty_json(), None);
    assert_eq!(rows[2].pretty_json(), None);
    assert_eq!(
        rows[3].pretty_json(),
        None,
        "a cut payload is not JSON any more"
    );
    assert_eq!(rows[3].size, big.len());
}

#[test]
fn the_stream_keeps_the_newest_rows_in_arrival_order() {
    let mut w = Watch::default();
    for i in 0..STREAM_CAPACITY + 10 {
        w.receive("t", i.to_string().as_bytes(), Q0, i == 0, i as f64);
    }
    let rows = w.stream();
    assert_eq!(rows.len(), STREAM_CAPACITY);
    assert_eq!(rows[0].seq, 11);
    assert_eq!(rows.last().unwrap().seq, (STREAM_CAPACITY + 10) as u64);
    assert_eq!(w.counted(), (STREAM_CAPACITY + 10) as u64);
}

#[test]
fn latest_updates_each_topic_in_place_and_evicts_the_least_recently_updated() {
    let mut w = Watch::default();
    w.receive("matches/2/score", b"0-0", Q0, true, 0.0);
    w.receive("matches/1/score", b"1-0", Q0, false, 1.0);
    w.receive("matches/2/score", b"0-1", QoS::AtLeastOnce, false, 2.0);
    let rows = w.latest();
    let shown: Vec<(&str, u64)> = rows.iter().map(|(s, n)| (s.topic.as_str(), *n)).collect();
    assert_eq!(shown, [("matches/1/score", 1), ("matches/2/score", 2)]);
    assert_eq!(
        rows[1].0.body,
        Body::Text {
            text: "0-1".into(),
            cut: false
        }
    );
    assert!(!rows[1].0.retain);
    // Fill up: topic "matches/1/score" is now the least recently updated... after 2.
    w.receive("matches/1/score", b"2-0", Q0, false, 3.0);
    for i in 0..LATEST_CAPACITY - 2 {
        w.receive(&format!("t/{i}"), b"x", Q0, false, 4.0);
    }
    assert_eq!(w.topics(), LATEST_CAPACITY);
    assert_eq!(w.evicted(), 0);
    w.receive("one/more", b"x", Q0, false, 5.0);
    assert_eq!(w.topics(), LATEST_CAPACITY);
    assert_eq!(w.evicted(), 1);
    let topics: Vec<String> = w.latest().iter().map(|(s, _)| s.topic.clone()).collect();
    assert!(!topics.contains(&"matches/2/score".to_owned()));
    assert!(topics.contains(&"matches/1/score".to_owned()));
}

#[test]
fn paused_shows_what_was_there_and_keeps_counting() {
    let mut w = Watch::default();
    w.receive("a", b"1", Q0, false, 0.0);
    w.pause();
    w.receive("a", b"2", Q0, false, 1.0);
    w.receive("b", b"3", Q0, false, 2.0);
    assert!(w.paused());
    assert_eq!(w.stream().len(), 1);
    assert_eq!(w.latest().len(), 1);
    assert_eq!((w.counted(), w.while_paused()), (3, 2));
    w.resume();
    assert_eq!(w.stream().len(), 3);
    assert_eq!(w.latest().len(), 2);
    assert_eq!(w.while_paused(), 0);
    w.clear();
    assert_eq!((w.counted(), w.stream().len(), w.topics()), (0, 0, 0));
}

#[test]
fn the_rate_counts_the_last_second_on_a_virtual_clock() {
    let mut w = Watch::default();
    assert_eq!(w.rate(0.0), 0);
    for i in 0..100 {
        w.receive("t", b"x", Q0, false, 10_000.0 + f64::from(i) * 10.0);
    }
    // 100 messages between 10.0 s and 10.99 s.
    assert_eq!(w.rate(10_990.0), 100);
    assert_eq!(w.rate(11_550.0), 40);
    assert_eq!(w.rate(12_100.0), 0);
    // Skipped messages count too.
    w.skipped("t", 1 << 20, 131_072, Q0, 12_100.0);
    assert_eq!(w.rate(12_100.0), 1);
    let last = w.stream().pop().unwrap();
    assert_eq!(last.format(), "skipped");
    assert_eq!(last.size, 1 << 20);
}

#[test]
fn long_topics_are_cut_for_display_and_bound_the_latest_view_by_bytes() {
    use chat::watch::{LATEST_TOPIC_BYTES, SHOWN_TOPIC_BYTES};
    let mut w = Watch::default();
    let long = |i: usize| format!("{i:04}/{}", "é".repeat(30_000));
    for i in 0..200 {
        w.receive(&long(i), b"x", Q0, false, 0.0);
    }
    let kept = w.topics();
    assert!(kept < 200 && kept > 0, "{kept}");
    assert!(kept * long(0).len() <= LATEST_TOPIC_BYTES);
    assert_eq!(w.evicted(), (200 - kept) as u64);
    let rows = w.latest();
    // The newest are kept.
    assert!(rows.iter().any(|(s, _)| s.topic.starts_with("0199/")));
    assert!(!rows.iter().any(|(s, _)| s.topic.starts_with("0000/")));
    let seen = &w.stream()[0];
    assert!(seen.topic.len() <= SHOWN_TOPIC_BYTES);
    assert_eq!(seen.topic_size, long(0).len());
    // Updating a kept topic evicts nothing.
    w.receive(&long(199), b"y", Q0, false, 1.0);
    assert_eq!(w.topics(), kept);
    assert_eq!(w.evicted(), (200 - kept) as u64);
}

mod pretty {
    //! The JSON re-layout against serde_json's own pretty printer, on any JSON value
    //! (serde_json sorts object keys, so its compact text is the input; ours keeps the
    //! order given).

    use chat::watch::pretty_json;
    use proptest::prelude::*;
    use serde_json::Value;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "(\\PC|[\"\\\\{}\\[\\],:\\n\\t ])*".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("(\\PC|[\"\\\\{}:,])*", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn laid_out_like_serde_json(v in json()) {
            let compact = serde_json::to_string(&v).unwrap();
            prop_assert_eq!(pretty_json(&compact), Some(serde_json::to_string_pretty(&v).unwrap()));
            // Already pretty, or spread out: the same again.
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            prop_assert_eq!(pretty_json(&pretty), Some(pretty.clone()));
        }

        #[test]
        fn never_panics_and_refuses_what_is_not_json(s in any::<String>()) {
            let out = pretty_json(&s);
            if serde_json::from_str::<Value>(&s).is_err() {
                prop_assert_eq!(out, None);
            }
        }
    }

    #[test]
    fn keys_keep_their_order_and_numbers_their_digits() {
        assert_eq!(
            pretty_json(r#"{ "z": 1.50, "a": [ ], "m": {}, "s": "a\"}b" }"#).as_deref(),
            Some("{\n  \"z\": 1.50,\n  \"a\": [],\n  \"m\": {},\n  \"s\": \"a\\\"}b\"\n}")
        );
    }
}
