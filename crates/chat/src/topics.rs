//! Where a topic from the network goes. Topics from the broker are untrusted text: this
//! router matches them by exact levels, never by slicing at byte offsets (unlike
//! `mqttbytes::matches`, which panics on a multi-byte first character), and anything it does
//! not know is `None`.

use crate::room::{RoomName, CATCHUP_PREFIX, DEFAULT_ROOM, TYPING_PREFIX};

/// Each tab's retained status is on this prefix followed by its client id.
pub const PRESENCE_PREFIX: &str = "chat/presence/";
/// The subscription that receives every tab's status.
pub const PRESENCE_FILTER: &str = "chat/presence/+";
/// The longest tab (client) id accepted in a presence topic, in bytes.
pub const MAX_TAB_ID_BYTES: usize = 128;

/// The topic a tab publishes its status (and its last will) on.
pub fn presence_topic(client_id: &str) -> String {
    format!("{PRESENCE_PREFIX}{client_id}")
}

/// What a topic from the network is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// A chat message in a room.
    Chat(RoomName),
    /// A typing event in a room.
    Typing(RoomName),
    /// A catch-up request or answer for a room.
    CatchUp(RoomName),
    /// One tab's status.
    Presence { tab: String },
}

/// Route a topic from the network, or `None` for any topic this app does not use: extra or
/// empty levels, `$SYS/...`, names that are not valid room names (or not in their canonical,
/// trimmed form), and `messages/messages` (the default room is `messages`).
pub fn route(topic: &str) -> Option<Route> {
    if let Some(tab) = topic.strip_prefix(PRESENCE_PREFIX) {
        let valid = !tab.is_empty() && tab.len() <= MAX_TAB_ID_BYTES && !tab.contains('/');
        return valid.then(|| Route::Presence {
            tab: tab.to_owned(),
        });
    }
    if let Some(chat) = topic.strip_prefix(TYPING_PREFIX) {
        return chat_room(chat).map(Route::Typing);
    }
    if let Some(chat) = topic.strip_prefix(CATCHUP_PREFIX) {
        return chat_room(chat).map(Route::CatchUp);
    }
    chat_room(topic).map(Route::Chat)
}

/// The room whose chat topic is exactly `topic`.
fn chat_room(topic: &str) -> Option<RoomName> {
    if topic == DEFAULT_ROOM {
        return Some(RoomName::default_room());
    }
    let name = topic.strip_prefix(DEFAULT_ROOM)?.strip_prefix('/')?;
    if name == DEFAULT_ROOM {
        return None;
    }
    // `parse` trims; a topic with spaces around the name is not that room's topic.
    RoomName::parse(name)
        .ok()
        .filter(|room| room.as_str() == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    #[test]
    fn known_topics_route_to_their_room() {
        let default = RoomName::default_room();
        let cases = [
            ("messages", Route::Chat(default.clone())),
            ("messages/tea", Route::Chat(room("tea"))),
            ("messages/tea room", Route::Chat(room("tea room"))),
            ("messages/日本語", Route::Chat(room("日本語"))),
            ("messages/a$", Route::Chat(room("a$"))),
            ("chat/typing/messages", Route::Typing(default.clone())),
            ("chat/typing/messages/tea", Route::Typing(room("tea"))),
            ("chat/catchup/messages", Route::CatchUp(default)),
            ("chat/catchup/messages/tea", Route::CatchUp(room("tea"))),
            (
                "chat/presence/tab-1",
                Route::Presence {
                    tab: "tab-1".into(),
                },
            ),
            ("chat/presence/é", Route::Presence { tab: "é".into() }),
        ];
        for (topic, expected) in cases {
            assert_eq!(route(topic), Some(expected), "{topic:?}");
        }
    }

    #[test]
    fn other_topics_route_nowhere() {
        let long_tab = format!("chat/presence/{}", "t".repeat(MAX_TAB_ID_BYTES + 1));
        let long_room = format!("messages/{}", "r".repeat(65));
        let topics = [
            "",
            "/",
            "messages/",
            "/messages",
            "messages//",
            "messages/a/b",
            "messages/a/",
            "messages/messages",
            "messages/ tea",
            "messages/tea ",
            "messages/$SYS",
            "messages/a\0b",
            "messages/a+b",
            "messages/#",
            "messagesX",
            "messages-tea",
            "Messages",
            "$SYS/broker/uptime",
            "$SYS",
            "chat",
            "chat/typing",
            "chat/typing/",
            "chat/typing/messages/",
            "chat/typing/messages/messages",
            "chat/typing/messages/a/b",
            "chat/typing/other",
            "chat/catchup/",
            "chat/catchup/messages/a/b",
            "chat/catchup/messages/messages",
            "chat/presence",
            "chat/presence/",
            "chat/presence/a/b",
            "chat/presence//",
            "chat/other/messages",
            "é/messages",
            "😀",
            "\0messages",
            "messages\0",
            "//////",
            "日本/chat/presence/x",
            long_tab.as_str(),
            long_room.as_str(),
        ];
        for topic in topics {
            assert_eq!(route(topic), None, "{topic:?}");
        }
        let max_tab = presence_topic(&"t".repeat(MAX_TAB_ID_BYTES));
        assert!(matches!(route(&max_tab), Some(Route::Presence { .. })));
    }

    #[test]
    fn presence_topic_and_filter() {
        assert_eq!(presence_topic("abc"), "chat/presence/abc");
        assert_eq!(
            route(&presence_topic("abc")),
            Some(Route::Presence { tab: "abc".into() })
        );
        assert_eq!(PRESENCE_FILTER, format!("{PRESENCE_PREFIX}+"));
    }

    /// Any valid room name, drawn from characters that exercise the edges: multi-byte
    /// characters, `$` inside, spaces inside, the word `messages`.
    fn room_name() -> impl Strategy<Value = RoomName> {
        prop_oneof![
            "[a-z0-9 ._$-]{1,64}",
            "[é語😀a-c ]{1,16}",
            Just("messages".to_owned()),
            Just("messages ".to_owned()),
            "messages[a-z]{0,3}",
        ]
        .prop_filter_map("not a valid room name", |raw| RoomName::parse(&raw).ok())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn arbitrary_topics_never_panic(topic in any::<String>()) {
            let _ = route(&topic);
        }

        #[test]
        fn topic_shaped_strings_never_panic(
            topic in "[/é語😀\u{0}+#$ a-z]{0,12}(messages|chat/typing/messages|chat/catchup/messages|chat/presence)?[/é語😀\u{0}+#$ a-z]{0,12}"
        ) {
            if let Some(Route::Chat(r) | Route::Typing(r) | Route::CatchUp(r)) = route(&topic) {
                // Whatever routes to a room is exactly one of that room's topics.
                prop_assert!(
                    [r.chat_topic(), r.typing_topic(), r.catchup_topic()].contains(&topic),
                    "{topic:?} routed to {r:?}"
                );
            }
        }

        #[test]
        fn every_room_topic_routes_back_to_its_room(r in room_name()) {
            prop_assert_eq!(route(&r.chat_topic()), Some(Route::Chat(r.clone())));
            prop_assert_eq!(route(&r.typing_topic()), Some(Route::Typing(r.clone())));
            prop_assert_eq!(route(&r.catchup_topic()), Some(Route::CatchUp(r.clone())));
        }

        #[test]
        fn presence_topics_route_back_to_their_tab(tab in "[^/]{1,40}") {
            prop_assume!(tab.len() <= MAX_TAB_ID_BYTES);
            prop_assert_eq!(route(&presence_topic(&tab)), Some(Route::Presence { tab: tab.clone() }));
        }
    }
}
