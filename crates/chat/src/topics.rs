//! Where a topic from the network goes. Topics from the broker are untrusted text: this
//! router matches them by exact levels, never by slicing at byte offsets (unlike
//! `mqttbytes::matches`, which panics on a multi-byte first character), and anything it does
//! not know is `None`.
//!
//! **Authors the broker vouches for.** A signed-in tab publishes its messages and its status
//! on topics that end in `from/<user name>` (`messages/from/alice`, `messages/tea/from/alice`,
//! `chat/presence/<tab>/from/alice`). The project's ACL (`mosquitto-acl.conf`) lets only
//! `alice` write those (`pattern write .../from/%u`), so the topic proves who sent it. The
//! router reads the author only at those exact levels: a user name holding `/` makes a topic
//! with more levels, which routes nowhere, and no room may be called `from`.

use crate::room::{RoomName, CATCHUP_PREFIX, DEFAULT_ROOM, TYPING_PREFIX};

/// Each tab's retained status is on this prefix followed by its presence key: a random
/// public id of the tab's own, never its client id.
pub const PRESENCE_PREFIX: &str = "chat/presence/";
/// The subscription that receives every anonymous tab's status.
pub const PRESENCE_FILTER: &str = "chat/presence/+";
/// The subscription that receives every signed-in tab's status.
pub const VERIFIED_PRESENCE_FILTER: &str = "chat/presence/+/from/+";
/// The longest tab key accepted in a presence topic, in bytes.
pub const MAX_TAB_ID_BYTES: usize = 128;
/// The level before a verified author's name.
pub const AUTHOR_LEVEL: &str = "from";
/// The longest user name read from a topic, in bytes.
pub const MAX_AUTHOR_BYTES: usize = 128;

/// The topic a tab publishes its status (and its last will) on: `chat/presence/<tab>`, or
/// `chat/presence/<tab>/from/<user>` when signed in.
pub fn presence_topic(tab: &str, user: Option<&str>) -> String {
    match user {
        None => format!("{PRESENCE_PREFIX}{tab}"),
        Some(user) => format!("{PRESENCE_PREFIX}{tab}/{AUTHOR_LEVEL}/{user}"),
    }
}

/// The topic a message for `room` goes to: the room's own topic, or, signed in,
/// `<room topic>/from/<user>`.
pub fn chat_topic_for(room: &RoomName, user: Option<&str>) -> String {
    match user {
        None => room.chat_topic(),
        Some(user) => format!("{}/{AUTHOR_LEVEL}/{user}", room.chat_topic()),
    }
}

/// The filter that receives the verified messages of `room`: `<room topic>/from/+`.
pub fn verified_chat_filter(room: &RoomName) -> String {
    format!("{}/{AUTHOR_LEVEL}/+", room.chat_topic())
}

/// Whether `user` can be pinned into a topic level: not empty, not too long, and none of
/// `/ + #` (a `/` would add levels, so the ACL's `%u` could reach another user's topics).
pub fn valid_author(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= MAX_AUTHOR_BYTES
        && !user.contains(['/', '+', '#'])
        && !user.chars().any(char::is_control)
}

/// What a topic from the network is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// A chat message in a room; `author` is the user name its topic proves, if any.
    Chat {
        room: RoomName,
        author: Option<String>,
    },
    /// A typing event in a room.
    Typing(RoomName),
    /// A catch-up request or answer for a room.
    CatchUp(RoomName),
    /// A private room's salt record (`crate::private`), retained.
    Salt(RoomName),
    /// One tab's status. `tab` is the topic after `chat/presence/` (for a signed-in tab,
    /// `<tab key>/from/<user>`): a key per status topic, so a plain status can never
    /// overwrite a verified one.
    Presence { tab: String, author: Option<String> },
}

/// Route a topic from the network, or `None` for any topic this app does not use: extra or
/// empty levels, `$SYS/...`, names that are not valid room names (or not in their canonical,
/// trimmed form), and `messages/messages` (the default room is `messages`).
pub fn route(topic: &str) -> Option<Route> {
    if let Some(rest) = topic.strip_prefix(PRESENCE_PREFIX) {
        let (tab, author) = split_author(rest);
        let valid = !tab.is_empty() && tab.len() <= MAX_TAB_ID_BYTES && !tab.contains('/');
        return valid.then(|| Route::Presence {
            tab: rest.to_owned(),
            author: author.map(str::to_owned),
        });
    }
    if let Some(chat) = topic.strip_prefix(TYPING_PREFIX) {
        return chat_room(chat).map(Route::Typing);
    }
    if let Some(chat) = topic.strip_prefix(CATCHUP_PREFIX) {
        return chat_room(chat).map(Route::CatchUp);
    }
    if let Some(chat) = topic.strip_prefix(crate::private::SALT_PREFIX) {
        return chat_room(chat).map(Route::Salt);
    }
    let (base, author) = split_author(topic);
    chat_room(base).map(|room| Route::Chat {
        room,
        author: author.map(str::to_owned),
    })
}

/// The user a topic (or a presence key, see [`Route::Presence`]) names as its author.
pub fn author_of(topic: &str) -> Option<&str> {
    split_author(topic).1
}

/// `<base>/from/<user>` → (`<base>`, Some(user)) when `user` is a valid author; anything
/// else is (`topic`, None).
fn split_author(topic: &str) -> (&str, Option<&str>) {
    let Some((head, user)) = topic.rsplit_once('/') else {
        return (topic, None);
    };
    match head.rsplit_once('/') {
        Some((base, AUTHOR_LEVEL)) if valid_author(user) => (base, Some(user)),
        _ => (topic, None),
    }
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

    fn chat(room: RoomName, author: Option<&str>) -> Route {
        Route::Chat {
            room,
            author: author.map(str::to_owned),
        }
    }

    #[test]
    fn known_topics_route_to_their_room() {
        let default = RoomName::default_room();
        let cases = [
            ("messages", chat(default.clone(), None)),
            ("messages/tea", chat(room("tea"), None)),
            ("messages/tea room", chat(room("tea room"), None)),
            ("messages/日本語", chat(room("日本語"), None)),
            ("messages/a$", chat(room("a$"), None)),
            ("messages/from/alice", chat(default.clone(), Some("alice"))),
            ("messages/tea/from/bob", chat(room("tea"), Some("bob"))),
            ("messages/tea/from/é ü", chat(room("tea"), Some("é ü"))),
            ("chat/typing/messages", Route::Typing(default.clone())),
            ("chat/typing/messages/tea", Route::Typing(room("tea"))),
            ("chat/catchup/messages", Route::CatchUp(default)),
            ("chat/catchup/messages/tea", Route::CatchUp(room("tea"))),
            ("chat/salt/messages/tea", Route::Salt(room("tea"))),
            ("chat/salt/messages", Route::Salt(RoomName::default_room())),
            (
                "chat/presence/tab-1",
                Route::Presence {
                    tab: "tab-1".into(),
                    author: None,
                },
            ),
            (
                "chat/presence/é",
                Route::Presence {
                    tab: "é".into(),
                    author: None,
                },
            ),
            (
                "chat/presence/tab-1/from/alice",
                Route::Presence {
                    tab: "tab-1/from/alice".into(),
                    author: Some("alice".into()),
                },
            ),
        ];
        for (topic, expected) in cases {
            assert_eq!(route(topic), Some(expected), "{topic:?}");
        }
    }

    #[test]
    fn other_topics_route_nowhere() {
        let long_tab = format!("chat/presence/{}", "t".repeat(MAX_TAB_ID_BYTES + 1));
        let long_room = format!("messages/{}", "r".repeat(65));
        let long_author = format!("messages/from/{}", "u".repeat(MAX_AUTHOR_BYTES + 1));
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
            "messages/from",
            "messages/from/",
            "messages/from/a/b",
            "messages/from/from/alice",
            "messages/tea/from/a+b",
            "messages/tea/from/a#",
            "messages/tea/by/alice",
            "messages/tea/from",
            "chat/presence/from/alice",
            "chat/presence/t/from/",
            "chat/presence/t/from/a/b",
            "chat/presence/t/by/alice",
            long_tab.as_str(),
            long_room.as_str(),
            long_author.as_str(),
        ];
        for topic in topics {
            assert_eq!(route(topic), None, "{topic:?}");
        }
        let max_tab = presence_topic(&"t".repeat(MAX_TAB_ID_BYTES), None);
        assert!(matches!(route(&max_tab), Some(Route::Presence { .. })));
    }

    #[test]
    fn presence_topic_and_filter() {
        assert_eq!(presence_topic("abc", None), "chat/presence/abc");
        assert_eq!(
            route(&presence_topic("abc", None)),
            Some(Route::Presence {
                tab: "abc".into(),
                author: None
            })
        );
        assert_eq!(
            presence_topic("abc", Some("al ice")),
            "chat/presence/abc/from/al ice"
        );
        assert_eq!(PRESENCE_FILTER, format!("{PRESENCE_PREFIX}+"));
        assert_eq!(
            VERIFIED_PRESENCE_FILTER,
            format!("{PRESENCE_PREFIX}+/from/+")
        );
    }

    #[test]
    fn user_names_that_would_add_levels_are_not_authors() {
        for user in ["alice", "é", "a b", "x.y@z"] {
            assert!(valid_author(user), "{user:?}");
        }
        for user in ["", "a/b", "from/alice", "+", "#", "a\0b", "a\nb"] {
            assert!(!valid_author(user), "{user:?}");
        }
        assert!(!valid_author(&"u".repeat(MAX_AUTHOR_BYTES + 1)));
        // The forgery a `/` in a user name would allow: `from/alice` writing
        // `messages/from/%u` = `messages/from/from/alice`. It routes nowhere (and no room
        // may be called `from`).
        assert_eq!(route("messages/from/from/alice"), None);
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
            if let Some(Route::Chat { room: r, author: None } | Route::Typing(r) | Route::CatchUp(r)) = route(&topic) {
                // Whatever routes to a room is exactly one of that room's topics.
                prop_assert!(
                    [r.chat_topic(), r.typing_topic(), r.catchup_topic()].contains(&topic),
                    "{topic:?} routed to {r:?}"
                );
            }
        }

        #[test]
        fn every_room_topic_routes_back_to_its_room(r in room_name()) {
            prop_assert_eq!(route(&r.chat_topic()), Some(chat(r.clone(), None)));
            prop_assert_eq!(route(&r.typing_topic()), Some(Route::Typing(r.clone())));
            prop_assert_eq!(route(&r.catchup_topic()), Some(Route::CatchUp(r.clone())));
        }

        #[test]
        fn verified_topics_route_back_to_room_and_author(r in room_name(), user in "[^/+#\\p{Cc}]{1,40}") {
            prop_assume!(user.len() <= MAX_AUTHOR_BYTES);
            prop_assert_eq!(
                route(&chat_topic_for(&r, Some(&user))),
                Some(chat(r.clone(), Some(&user)))
            );
            // Verified topics are what the filter receives, and only those.
            let filter = verified_chat_filter(&r);
            let topic = chat_topic_for(&r, Some(&user));
            prop_assert_eq!(filter.strip_suffix('+'), topic.strip_suffix(user.as_str()));
        }

        #[test]
        fn presence_topics_route_back_to_their_tab(tab in "[^/]{1,40}", user in proptest::option::of("[^/+#\\p{Cc}]{1,20}")) {
            prop_assume!(tab.len() <= MAX_TAB_ID_BYTES);
            let topic = presence_topic(&tab, user.as_deref());
            prop_assert_eq!(
                route(&topic),
                Some(Route::Presence { tab: topic.strip_prefix(PRESENCE_PREFIX).unwrap().to_owned(), author: user.clone() })
            );
        }
    }
}
