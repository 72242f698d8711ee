//! `#settings`: the connection panel. Broker URL, MQTT version, user name and password, and
//! the saved connections. Connecting loads the page again at
//! `?broker=..&protocol=..&username=..` (never the password): a new connection starts from
//! scratch, so one user's or broker's unsent messages, session and history can never reach
//! another (everything kept is filed per broker and user, see `browser::scope`).

use chat::{Connection, MqttVersion, SavedConnections};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::browser::web_storage::{self, Area};
use crate::config::{self, AppConfig};
use crate::session::ChatSession;

/// localStorage: the user opened the panel (true) or folded it (false); folded by default.
const OPEN_KEY: &str = "mqtt-chat.settings-open";

/// What this tab is connected with, for the panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Current {
    pub url: String,
    pub protocol: MqttVersion,
    pub username: String,
    /// The address given cannot be used: the panel opens to have it corrected.
    pub unusable: bool,
}

impl Current {
    pub fn from_config(config: &AppConfig) -> Current {
        Current {
            url: config
                .broker_url
                .clone()
                .unwrap_or_else(|e| bad_address(&e)),
            protocol: config.protocol,
            username: config
                .credentials
                .as_ref()
                .map(|c| c.username.clone())
                .unwrap_or_default(),
            unusable: config.broker_url.is_err(),
        }
    }
}

/// The address as given, from a refusal (so the user can correct it).
fn bad_address(e: &chat::BrokerUrlError) -> String {
    use chat::BrokerUrlError as E;
    match e {
        E::Empty | E::TooMany { .. } => String::new(),
        E::NotAUrl { address }
        | E::WebPage { address }
        | E::Tcp { address, .. }
        | E::WrongScheme { address }
        | E::NoHost { address }
        | E::MixedContent { address } => address.clone(),
    }
}

/// `#settings`: folded to its summary (the connection in use) until the user opens it (kept
/// across reloads), or open when the address given cannot be used or the broker refused the
/// connection; its form and tools are a chunk of their own, fetched the first time it
/// opens.
#[component]
pub fn ConnectionPanel(session: ChatSession, current: Current) -> impl IntoView {
    let opened = web_storage::get::<bool>(Area::Local, OPEN_KEY).unwrap_or(false);
    let open = RwSignal::new(current.unusable || opened);
    // Only the user's own opening or folding is kept: `toggle` also fires when the app
    // opens the panel itself (drawn open, or opened on a refusal).
    let on_toggle = move |ev: leptos::ev::Event| {
        let now_open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
        if now_open != open.get_untracked() {
            let _ = web_storage::set(Area::Local, OPEN_KEY, &now_open);
            open.set(now_open);
        }
    };
    // The broker refused this connection: what to change is in the panel.
    Effect::new(move |_| {
        if session
            .status
            .with(|s| matches!(s, chat::ConnectionStatus::Refused { .. }))
        {
            open.set(true);
        }
    });
    let who = if current.username.is_empty() {
        "anonymous"
    } else {
        current.username.as_str()
    };
    let summary = format!(
        "Connection: {} · {} · MQTT {}",
        current.url,
        who,
        current.protocol.as_str()
    );
    view! {
        <details id="settings" class="settings" prop:open=move || open.get() on:toggle=on_toggle>
            <summary>{summary}</summary>
            <super::chunks::LazyConnectionForm session=session current=current shown=open />
        </details>
    }
}

/// The panel's body: the form, the client id, the authorship check in words, import and
/// export, the saved connections (in the connection panel's chunk).
#[component]
pub fn ConnectionForm(session: ChatSession, current: Current) -> impl IntoView {
    let url = RwSignal::new(current.url.clone());
    let protocol = RwSignal::new(current.protocol);
    let username = RwSignal::new(current.username.clone());
    let password = RwSignal::new(String::new());
    let saved = RwSignal::new(config::saved_connections());
    let remember = RwSignal::new(saved.with_untracked(|s| {
        s.find(&current.url, &current.username)
            .is_some_and(|c| c.password.is_some())
    }));
    let error = RwSignal::new(None::<String>);
    // The connection just deleted, whose stored data the panel offers to delete too.
    let deleted = RwSignal::new(None::<Offer>);

    let connect_to = move |connection: Connection, keep_password: bool| match connect(
        connection,
        keep_password,
        saved,
    ) {
        Ok(()) => error.set(None),
        Err(e) => error.set(Some(e)),
    };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let typed = Connection {
            url: url.get_untracked(),
            protocol: protocol.get_untracked(),
            username: username.get_untracked().trim().to_owned(),
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
        };
        connect_to(typed, remember.get_untracked());
    };
    let client_id = move || {
        session
            .client_id
            .get()
            .unwrap_or_else(|| "(not chosen yet)".into())
    };
    view! {
        <form id="connection-form" class="connection-form" on:submit=on_submit novalidate>
                <label class="field url">
                    "Broker URL"
                    <input
                        id="broker-url"
                        type="text"
                        inputmode="url"
                        autocomplete="url"
                        spellcheck="false"
                        placeholder="wss://broker.example.com:8084/mqtt"
                        title="One WebSocket address, or several separated by commas (a cluster's nodes, tried in turn)"
                        aria-describedby="settings-error"
                        prop:value=move || url.get()
                        on:input=move |ev| {
                            url.set(event_target_value(&ev));
                            error.set(None);
                        }
                    />
                </label>
                <label class="field">
                    "MQTT"
                    <select
                        id="protocol"
                        prop:value=move || protocol.get().as_str()
                        on:change=move |ev| {
                            protocol.set(MqttVersion::parse(&event_target_value(&ev)).unwrap_or_default());
                        }
                    >
                        <option value="3.1.1">"3.1.1"</option>
                        <option value="5">"5"</option>
                    </select>
                </label>
                <label class="field">
                    "User name"
                    <input
                        id="username"
                        type="text"
                        autocomplete="username"
                        spellcheck="false"
                        placeholder="anonymous"
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))
                    />
                </label>
                <label class="field">
                    "Password"
                    <input
                        id="password"
                        type="password"
                        autocomplete="current-password"
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                </label>
                <label class="remember" title="Keep the password in this browser's localStorage, readable by this site's scripts and anyone using this browser profile.">
                    <input
                        id="remember"
                        type="checkbox"
                        prop:checked=move || remember.get()
                        on:change=move |ev| remember.set(event_target_checked(&ev))
                    />
                    "Remember password"
                </label>
                <button id="connect" type="submit">"Connect"</button>
                <p id="settings-error" class="hint" role="alert">{move || error.get()}</p>
            </form>
            <p class="client-id">"Client id: " <code id="client-id">{client_id}</code></p>
            // What the authorship check knows (`chat::authorship`), in words.
            <p
                id="authorship"
                class="client-id"
                data-state=move || session.verdict.with(|v| v.as_str())
            >
                {move || session.verdict.with(|v| v.words())}
            </p>
            <ImportExport saved=saved />
            <SavedList saved=saved connect_to=connect_to deleted=deleted fill=move |c: Connection| {
                url.set(c.url);
                protocol.set(c.protocol);
                username.set(c.username);
                password.set(String::new());
                remember.set(false);
                error.set(Some("Enter the password to connect.".into()));
            } />
            <DeleteData deleted=deleted />
    }
}

/// `#connections`: one `li[data-connection]` per saved connection, with a button that
/// connects (or fills the form when its password is not kept) and one that deletes it.
/// Drawn by hand (see `keyed`).
#[component]
fn SavedList(
    saved: RwSignal<SavedConnections>,
    /// Told which connection was deleted, to offer deleting its data too.
    deleted: RwSignal<Option<Offer>>,
    connect_to: impl Fn(Connection, bool) + Copy + Send + Sync + 'static,
    fill: impl Fn(Connection) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let list = NodeRef::<leptos::html::Ul>::new();
    super::keyed::keep_drawn(list, move |sync| {
        saved.with(|s| {
            let items: Vec<super::keyed::Item> = s
                .list()
                .iter()
                .map(|c| super::keyed::Item {
                    key: c.key(),
                    look: format!(
                        "{} · MQTT {}{}",
                        c.key(),
                        c.protocol.as_str(),
                        if c.password.is_some() {
                            " · password kept"
                        } else {
                            ""
                        }
                    ),
                })
                .collect();
            sync(&items, &|doc, i| {
                let key = &items[i].key;
                let li = doc.create_element("li").ok()?;
                let _ = li.set_attribute("data-connection", key);
                let use_it = super::keyed::button(doc, &li, "use", key, "", &items[i].look);
                let _ = use_it.set_attribute("title", &format!("Connect to {key}"));
                let delete = format!("Delete {key}");
                super::keyed::button(doc, &li, "delete", key, &delete, "×");
                Some(li)
            });
        });
    });
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some((class, key)) = super::keyed::clicked(&ev) else {
            return;
        };
        let Some(c) = saved.with(|s| s.list().iter().find(|c| c.key() == key).cloned()) else {
            return;
        };
        if class == "use" {
            if c.username.is_empty() || c.password.is_some() {
                connect_to(c, true);
            } else {
                fill(c);
            }
        } else if class == "delete" {
            saved.update(|s| {
                s.remove(&key);
            });
            let _ = config::save_connections(&saved.get_untracked());
            deleted.set(Some(Offer::new(&c)));
        }
    };
    view! { <ul id="connections" aria-label="Saved connections" node_ref=list on:click=on_click></ul> }
}

/// A deleted connection whose stored data may be deleted too, and where that stands.
#[derive(Clone, Debug, PartialEq)]
struct Offer {
    /// As listed (`user@broker`).
    key: String,
    /// What its data is filed under (`browser::scope`).
    scope: Option<String>,
    step: Step,
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    /// Asked: delete its data too?
    Ask,
    /// It holds unsent messages: delete them too, naming how many?
    Unsent(usize),
    Working,
    /// How it went, in words.
    Said(String),
    /// The deletion could not start (its chunk did not load): why, with the buttons of `Ask`.
    Retry(String),
}

impl Offer {
    fn new(c: &Connection) -> Offer {
        let scope = c.scope(&config::default_broker_url());
        let step = if scope == crate::browser::scope::current() {
            Step::Said(
                "Its stored history and unsent messages stay: this tab is connected with it."
                    .into(),
            )
        } else {
            Step::Ask
        };
        Offer {
            key: c.key(),
            scope,
            step,
        }
    }
}

/// `#delete-offer`: after a saved connection is deleted, offer to delete what this browser
/// keeps for it too (its IndexedDB database, its keys in Web Storage). Unsent messages are
/// counted first: with any, a second button names how many, and nothing is deleted
/// without it. One element whose `data-step` shows the buttons of its step (style.css; a
/// view per step, or a reactive attribute per button, would cost KiBs of Wasm).
#[component]
fn DeleteData(deleted: RwSignal<Option<Offer>>) -> impl IntoView {
    let delete = move |agreed: usize| {
        let Some(offer) = deleted.get_untracked() else {
            return;
        };
        deleted.update(|d| d.iter_mut().for_each(|o| o.step = Step::Working));
        leptos::task::spawn_local(async move {
            use crate::persist::forget::ForgetError;
            let next = match crate::split::forget(offer.scope.clone(), agreed).await {
                Ok(Ok(())) => {
                    Step::Said(format!("Deleted what this browser kept for {}.", offer.key))
                }
                Ok(Err(ForgetError::Unsent(n))) => Step::Unsent(n),
                Ok(Err(e)) => Step::Said(format!("Its stored data was not deleted: {e}.")),
                // Its chunk did not come: nothing was deleted, and the buttons stay.
                Err(e) => Step::Retry(format!("{e} Nothing was deleted.")),
            };
            // The panel may be gone, or showing another deleted connection by now.
            deleted.try_update(|d| {
                if let Some(o) = d.as_mut().filter(|o| o.key == offer.key) {
                    o.step = next;
                }
            });
        });
    };
    let step = move || deleted.with(|d| d.as_ref().map(|o| o.step.clone()));
    let unsent = move || match step() {
        Some(Step::Unsent(n)) => n,
        _ => 0,
    };
    view! {
        <div
            id="delete-offer"
            class="delete-offer"
            role="group"
            aria-label="Stored data of the deleted connection"
            hidden=move || deleted.with(Option::is_none)
            data-step=move || step().map_or("", |s| s.name())
        >
            <p id="delete-offer-text" role="status">
                {move || deleted.with(|d| d.as_ref().map(Offer::words))}
            </p>
            <button id="delete-data" type="button" on:click=move |_| delete(0)>
                "Also delete its stored history"
            </button>
            <button id="delete-data-unsent" type="button" on:click=move |_| delete(unsent())>
                {move || format!("Delete {} too", messages(unsent()))}
            </button>
            <button id="delete-data-keep" type="button" on:click=move |_| deleted.set(None)>
                {move || if matches!(step(), Some(Step::Said(_))) { "OK" } else { "Keep it" }}
            </button>
        </div>
    }
}

/// "1 unsent message", "2 unsent messages".
fn messages(n: usize) -> String {
    format!("{n} unsent message{}", if n == 1 { "" } else { "s" })
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Ask | Step::Retry(_) => "ask",
            Step::Unsent(_) => "unsent",
            Step::Working => "working",
            Step::Said(_) => "said",
        }
    }
}

impl Offer {
    /// What the offer says at its step.
    fn words(&self) -> String {
        let key = &self.key;
        match &self.step {
            Step::Ask => {
                format!("Deleted {key}. This browser still keeps its history and settings.")
            }
            Step::Unsent(n) => format!(
                "{key} still has {} that never reached the broker. Deleting its data deletes {} too.",
                messages(*n),
                if *n == 1 { "it" } else { "them" }
            ),
            Step::Working => format!("Deleting what this browser kept for {key}…"),
            Step::Said(words) | Step::Retry(words) => words.clone(),
        }
    }
}

/// Export the saved connections as a file (never with passwords), and import a file of
/// them: this app's export or MQTTX's. What was imported, and what was not and why, is said
/// in `#import-result`.
#[component]
fn ImportExport(saved: RwSignal<SavedConnections>) -> impl IntoView {
    let result = RwSignal::new(None::<String>);
    let href = move || {
        let json = saved.with(|s| s.export());
        format!(
            "data:application/json;charset=utf-8,{}",
            String::from(js_sys::encode_uri_component(&json))
        )
    };
    let on_file = move |ev: leptos::ev::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        leptos::task::spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text())
                .await
                .ok()
                .and_then(|v| v.as_string());
            let read = match text {
                Some(text) => Some(crate::split::import_connections(text).await),
                None => None,
            };
            let said = match read {
                None => "The file could not be read.".to_owned(),
                // Its chunk did not come: the file can be picked again.
                Some(Err(e)) => e.to_string(),
                Some(Ok(Err(e))) => e.to_string(),
                Some(Ok(Ok(imported))) => {
                    let found = imported.connections.len();
                    let added = saved
                        .try_update(|s| s.merge(imported.connections))
                        .unwrap_or(0);
                    if let Some(s) = saved.try_get_untracked() {
                        let _ = config::save_connections(&s);
                    }
                    let mut said = format!(
                        "Imported {added} new connection{} ({found} in the file; passwords are not imported).",
                        if added == 1 { "" } else { "s" }
                    );
                    if !imported.skipped.is_empty() {
                        said.push_str(&format!(" Skipped {}", imported.skipped.join("; ")));
                    }
                    said
                }
            };
            result.try_set(Some(said));
        });
    };
    view! {
        <p class="import-export">
            <a
                id="export-connections"
                class="link"
                download="mqtt-chat-connections.json"
                href=href
            >
                "Export connections"
            </a>
            <label class="link">
                "Import connections"
                <input
                    id="import-connections"
                    class="visually-hidden"
                    type="file"
                    accept="application/json,.json"
                    on:change=on_file
                />
            </label>
            <span id="import-result" role="status">{move || result.get()}</span>
        </p>
    }
}

/// Check `connection`, save it (its password only if `keep_password`), hand it to this tab
/// and load the page for it. `Err`: why not, in words.
fn connect(
    connection: Connection,
    keep_password: bool,
    saved: RwSignal<SavedConnections>,
) -> Result<(), String> {
    let url = config::validate_broker_url(&connection.url).map_err(|e| e.to_string())?;
    let connection = Connection { url, ..connection };
    let kept = Connection {
        password: connection.password.clone().filter(|_| keep_password),
        ..connection.clone()
    };
    saved.update(|s| s.upsert(kept));
    if let Err(e) = config::save_connections(&saved.get_untracked()) {
        web_sys::console::warn_1(&format!("saved connections not kept: {e}").into());
    }
    config::set_active_connection(&connection)
        .map_err(|e| format!("This tab cannot keep the connection ({e})."))?;
    let params = web_sys::UrlSearchParams::new().map_err(|_| "no URL support".to_owned())?;
    params.append("broker", &connection.url);
    params.append("protocol", connection.protocol.as_str());
    if !connection.username.is_empty() {
        params.append("username", &connection.username);
    }
    if !config::keep_history(&crate::browser::query_string()) {
        params.append("history", "off");
    }
    crate::browser::load_with_query(&format!("?{}", String::from(params.to_string())));
    Ok(())
}
