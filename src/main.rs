//! Installs the panic hook and mounts the app; everything else lives in the library.

use leptos::prelude::*;
use mqtt_chat::{App, AppConfig};

fn main() {
    console_error_panic_hook::set_once();
    mqtt_chat::bench::init_from_query(&mqtt_chat::browser::query_string());
    mqtt_chat::bench::mark("mqtt-chat:main");
    let config = AppConfig::from_page();
    leptos::mount::mount_to_body(move || view! { <App config /> });
    mqtt_chat::bench::mark("mqtt-chat:mounted");
}
