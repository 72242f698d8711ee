//! The viewer's publish panel (`#publish-panel`): topic, payload as text, JSON or hex,
//! QoS, retain, and under MQTT 5 content type, user properties and message expiry. The
//! fields are checked (`chat::viewer::publish`) before anything is sent; what the broker
//! answered shows in `#pub-status`. Templates (`#templates`) keep the fields under a name,
//! per broker; a publish can repeat every N seconds until `#pub-stop`.

use chat::viewer::publish::{parse_every, PayloadFormat, PubDraft, Repeater, Template, Templates};
use chat::viewer::tools::{PanelStatus, Purpose};
use chat::MqttVersion;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::browser::scope::scoped;
use crate::browser::wall_clock_ms;
use crate::browser::web_storage::{self, Area};
use crate::session::ChatSession;
use crate::ui::keyed::{self, append, Item};

use crate::browser::scope::TEMPLATES_KEY;

/// ms as seconds in words (`1.5`), with no float printer (see `charts::decimal`).
fn seconds(ms: u32) -> String {
    chat::viewer::charts::decimal(f64::from(ms) / 1000.0, 3)
}

fn load_templates() -> (Templates, usize) {
    match web_storage::get_raw(Area::Local, &scoped(TEMPLATES_KEY)) {
        Some(text) => Templates::decode(&text),
        None => (Templates::default(), 0),
    }
}

fn save_templates(t: &Templates) -> Result<(), String> {
    web_storage::set_raw(Area::Local, &scoped(TEMPLATES_KEY), &t.encode())
}

/// A repeat under way: its pace, and the timer of its next send.
struct Repeating {
    repeater: Repeater,
    _timer: gloo_timers::callback::Timeout,
}

#[component]
pub fn PublishPanel(session: ChatSession) -> impl IntoView {
    let v5 = session.protocol == MqttVersion::V5;
    let draft = RwSignal::new(PubDraft::default());
    let error = RwSignal::new(None::<String>);
    let (templates, skipped) = load_templates();
    let templates = RwSignal::new(templates);
    let template_words = RwSignal::new(
        (skipped > 0)
            .then(|| format!("{skipped} saved template(s) could not be read and were left out.")),
    );
    let template_name = RwSignal::new(String::new());
    let every = RwSignal::new(String::new());
    let repeating = StoredValue::new_local(None::<Repeating>);
    let repeat_count = RwSignal::new(None::<(u64, f64)>);

    let edit = move |f: &dyn Fn(&mut PubDraft)| {
        draft.update(|d| f(d));
        error.set(None);
    };

    // One send of the fields as they are now; the words of a refusal, if any.
    let send_once = move || -> Result<(), String> {
        let ready = draft
            .with_untracked(|d| d.check(v5))
            .map_err(|e| e.to_string())?;
        session
            .viewer_publish(&ready, Purpose::Panel)
            .map_err(|e| e.to_string())
    };

    // A repeat sends only while connected: queued sends would all go at once on reconnect.
    let send_repeat = move || -> Result<(), String> {
        if !session.viewer_connected() {
            return Err(
                "The connection dropped: a repeat does not queue messages while offline.".into(),
            );
        }
        send_once()
    };

    let stop = move || {
        repeating.set_value(None);
        repeat_count.set(None);
    };
    on_cleanup(move || {
        let _ = repeating.try_set_value(None);
    });

    // The next repeated send, at its time; a refusal stops the repeat and says why.
    fn schedule(
        repeating: StoredValue<Option<Repeating>, LocalStorage>,
        repeat_count: RwSignal<Option<(u64, f64)>>,
        error: RwSignal<Option<String>>,
        send_once: impl Fn() -> Result<(), String> + Copy + 'static,
        repeater: Repeater,
    ) {
        let wait = (repeater.next_at() - wall_clock_ms()).clamp(0.0, f64::from(u32::MAX)) as u32;
        let timer = gloo_timers::callback::Timeout::new(wait, move || {
            let Some(Some(mut r)) = repeating.try_with_value(|r| r.as_ref().map(|r| r.repeater))
            else {
                return;
            };
            let now = wall_clock_ms();
            if !r.due(now) {
                schedule(repeating, repeat_count, error, send_once, r);
                return;
            }
            match send_once() {
                Ok(()) => {
                    r.sent(now);
                    repeat_count.set(Some((r.count(), r.every_ms())));
                    schedule(repeating, repeat_count, error, send_once, r);
                }
                Err(why) => {
                    error.set(Some(format!(
                        "Repeat stopped after {} sends. {why}",
                        r.count()
                    )));
                    repeating.set_value(None);
                    repeat_count.set(None);
                }
            }
        });
        repeating.set_value(Some(Repeating {
            repeater,
            _timer: timer,
        }));
    }

    let on_send = move |ev: SubmitEvent| {
        ev.prevent_default();
        if let Err(why) = send_once() {
            error.set(Some(why));
        }
    };
    let on_repeat = move |_| {
        let every_ms = match parse_every(&every.get_untracked()) {
            Ok(ms) => ms,
            Err(e) => {
                error.set(Some(e.to_string()));
                return;
            }
        };
        if let Err(e) = draft.with_untracked(|d| d.check(v5)) {
            error.set(Some(e.to_string()));
            return;
        }
        let r = Repeater::start(every_ms, wall_clock_ms());
        repeat_count.set(Some((0, r.every_ms())));
        schedule(repeating, repeat_count, error, send_repeat, r);
    };

    let on_save = move |_| {
        let every_ms = every
            .with_untracked(|e| (!e.trim().is_empty()).then(|| parse_every(e)))
            .transpose();
        let every_ms = match every_ms {
            Ok(ms) => ms,
            Err(e) => {
                template_words.set(Some(e.to_string().replace("Not started", "Not saved")));
                return;
            }
        };
        let template = Template {
            name: template_name.get_untracked(),
            draft: draft.get_untracked(),
            every_ms,
        };
        let mut next = templates.get_untracked();
        let words = match next.save(template) {
            Err(e) => e.to_string(),
            Ok(()) => match save_templates(&next) {
                Ok(()) => {
                    templates.set(next);
                    template_name.set(String::new());
                    "Saved.".into()
                }
                Err(e) => format!("Not saved: the browser's storage refused it ({e})."),
            },
        };
        template_words.set(Some(words));
    };

    // The templates, drawn by hand (see `keyed`): name, topic, Use and Delete.
    let list = NodeRef::<leptos::html::Ul>::new();
    keyed::keep_drawn(list, move |sync| {
        templates.with(|t| {
            let items: Vec<Item> = t
                .list()
                .iter()
                .map(|t| Item {
                    key: t.name.clone(),
                    look: serde_json::to_string(t).unwrap_or_default(),
                })
                .collect();
            sync(&items, &|doc, i| {
                let t = &t.list()[i];
                let li = doc.create_element("li").ok()?;
                let _ = li.set_attribute("data-name", &t.name);
                li.set_class_name("template");
                append(doc, &li, "span", "template-name", &t.name);
                let mut about = format!("{} · QoS {}", t.draft.topic, t.draft.qos);
                if t.draft.retain {
                    about.push_str(" · retained");
                }
                if let Some(ms) = t.every_ms {
                    about.push_str(&format!(" · every {} s", seconds(ms)));
                }
                append(doc, &li, "span", "template-about", &about);
                let used = keyed::button(doc, &li, "use-template", &t.name, "", "Use");
                let _ = used.set_attribute("aria-label", &format!("Use {}", t.name));
                let gone = keyed::button(doc, &li, "delete-template", &t.name, "", "Delete");
                let _ = gone.set_attribute("aria-label", &format!("Delete {}", t.name));
                Some(li)
            });
        });
    });
    let on_template_click = move |ev: leptos::ev::MouseEvent| {
        let Some((class, name)) = keyed::clicked(&ev) else {
            return;
        };
        if class == "use-template" {
            if let Some(t) = templates.with_untracked(|t| t.get(&name).cloned()) {
                draft.set(t.draft);
                every.set(t.every_ms.map(seconds).unwrap_or_default());
                template_name.set(t.name);
                error.set(None);
            }
        } else if class == "delete-template" {
            let mut next = templates.get_untracked();
            if next.remove(&name) {
                let words = match save_templates(&next) {
                    Ok(()) => format!("Deleted {name}."),
                    Err(e) => format!("Not deleted: the browser's storage refused it ({e})."),
                };
                if words.starts_with("Deleted") {
                    templates.set(next);
                }
                template_words.set(Some(words));
            }
        }
    };

    let status = move || {
        session
            .watch
            .with(|w| {
                w.tools()
                    .map(|t| (t.panel_status().clone(), t.panel_sends()))
            })
            .unwrap_or((PanelStatus::Idle, 0))
    };
    let status_words = move || match error.get() {
        Some(e) => e,
        None => {
            let (s, n) = status();
            let mut words = s.words();
            if n > 1 && !words.is_empty() {
                words.push_str(&format!(" ({n} sent from this panel.)"));
            }
            words
        }
    };
    let status_key = move || {
        if error.with(Option::is_some) {
            "error"
        } else {
            status().0.key()
        }
    };

    view! {
        <section id="publish-panel" class="publish-panel" aria-label="Publish">
            <h3>"Publish"</h3>
            <form id="publish-form" class="publish-form" on:submit=on_send novalidate>
                <label for="pub-topic">"Topic"</label>
                <input
                    id="pub-topic"
                    type="text"
                    autocomplete="off"
                    spellcheck="false"
                    placeholder="sensors/dev1/temperature"
                    prop:value=move || draft.with(|d| d.topic.clone())
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        edit(&|d| d.topic = v.clone())
                    }
                />
                <label for="pub-format">"Payload as"</label>
                <select
                    id="pub-format"
                    prop:value=move || draft.with(|d| d.format.key())
                    on:change=move |ev| {
                        let f = PayloadFormat::from_key(&event_target_value(&ev)).unwrap_or_default();
                        edit(&|d| d.format = f)
                    }
                >
                    {PayloadFormat::ALL
                        .into_iter()
                        .map(|f| view! { <option value=f.key()>{f.label()}</option> })
                        .collect_view()}
                </select>
                <label for="pub-payload">"Payload"</label>
                <textarea
                    id="pub-payload"
                    rows="3"
                    spellcheck="false"
                    prop:value=move || draft.with(|d| d.payload.clone())
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        edit(&|d| d.payload = v.clone())
                    }
                ></textarea>
                <label for="pub-qos">"QoS"</label>
                <select
                    id="pub-qos"
                    prop:value=move || draft.with(|d| d.qos.to_string())
                    on:change=move |ev| {
                        let q = u8::from(event_target_value(&ev) == "1");
                        edit(&|d| d.qos = q)
                    }
                >
                    <option value="0">"0"</option>
                    <option value="1">"1"</option>
                </select>
                <label class="check">
                    <input
                        id="pub-retain"
                        type="checkbox"
                        prop:checked=move || draft.with(|d| d.retain)
                        on:change=move |ev| {
                            let r = event_target_checked(&ev);
                            edit(&|d| d.retain = r)
                        }
                    />
                    "Retain"
                </label>
                {v5.then(|| view! {
                    <fieldset class="v5-props">
                        <legend>"MQTT 5"</legend>
                        <label for="pub-content-type">"Content type"</label>
                        <input
                            id="pub-content-type"
                            type="text"
                            placeholder="application/json"
                            prop:value=move || draft.with(|d| d.content_type.clone())
                            on:input=move |ev| {
                                let v = event_target_value(&ev);
                                edit(&|d| d.content_type = v.clone())
                            }
                        />
                        <label for="pub-props">"User properties (key=value a line)"</label>
                        <textarea
                            id="pub-props"
                            rows="2"
                            spellcheck="false"
                            prop:value=move || draft.with(|d| d.user_properties.clone())
                            on:input=move |ev| {
                                let v = event_target_value(&ev);
                                edit(&|d| d.user_properties = v.clone())
                            }
                        ></textarea>
                        <label for="pub-expiry">"Expires after (s)"</label>
                        <input
                            id="pub-expiry"
                            type="text"
                            inputmode="numeric"
                            prop:value=move || draft.with(|d| d.expiry.clone())
                            on:input=move |ev| {
                                let v = event_target_value(&ev);
                                edit(&|d| d.expiry = v.clone())
                            }
                        />
                    </fieldset>
                })}
                <button id="pub-send" type="submit">"Publish"</button>
                <label for="pub-every">"Repeat every (s)"</label>
                <input
                    id="pub-every"
                    type="text"
                    inputmode="decimal"
                    placeholder="1"
                    prop:value=move || every.get()
                    on:input=move |ev| every.set(event_target_value(&ev))
                />
                <button
                    id="pub-repeat"
                    type="button"
                    on:click=on_repeat
                    hidden=move || repeat_count.with(Option::is_some)
                >
                    "Repeat"
                </button>
                <button
                    id="pub-stop"
                    type="button"
                    class="stop"
                    on:click=move |_| stop()
                    hidden=move || repeat_count.with(Option::is_none)
                >
                    "Stop repeating"
                </button>
                <span id="pub-repeating" class="hint" data-sent=move || repeat_count.get().map(|(n, _)| n)>
                    {move || {
                        repeat_count
                            .get()
                            .map(|(n, every_ms)| {
                                format!("Repeating every {} s: {n} sent.", seconds(every_ms as u32))
                            })
                    }}
                </span>
                <p id="pub-status" class="hint" role="status" data-state=status_key>
                    {status_words}
                </p>
            </form>
            <div class="templates">
                <label for="template-name">"Template name"</label>
                <input
                    id="template-name"
                    type="text"
                    autocomplete="off"
                    prop:value=move || template_name.get()
                    on:input=move |ev| template_name.set(event_target_value(&ev))
                />
                <button id="template-save" type="button" on:click=on_save>
                    "Save as template"
                </button>
                <p id="template-status" class="hint" role="status">
                    {move || template_words.get()}
                </p>
                <ul
                    id="templates"
                    class="template-list"
                    aria-label="Saved templates"
                    node_ref=list
                    on:click=on_template_click
                ></ul>
            </div>
        </section>
    }
}
