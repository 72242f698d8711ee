//! `#chart`: one topic's numbers over time, opened from its sparkline: the last 500
//! points as an SVG line, with times along the bottom and values up the side, updated as
//! they come. No chart library: the geometry is `chat::viewer::charts::chart`.

use chat::viewer::charts::{chart, decimal, POINTS};
use leptos::prelude::*;

use crate::session::ChatSession;

// The SVG's size (its viewBox and axes are written out below as text: a float is never
// printed, see `charts::decimal`).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;

/// Minutes to add to UTC for local time.
fn local_offset_min() -> i64 {
    -(js_sys::Date::new_0().get_timezone_offset() as i64)
}

#[component]
pub fn ChartView(session: ChatSession, topic: RwSignal<Option<String>>) -> impl IntoView {
    let offset = local_offset_min();
    let drawn = move || {
        let t = topic.get()?;
        session.watch.with(|w| {
            let series = w.tools()?.charts.get(&t)?;
            Some((t.clone(), chart(series, WIDTH, HEIGHT, offset)))
        })
    };
    view! {
        <section
            id="chart"
            class="chart"
            aria-label="Chart"
            hidden=move || topic.with(Option::is_none)
        >
            {move || {
                let Some((t, c)) = drawn() else {
                    return topic
                        .get()
                        .map(|t| {
                            view! {
                                <p class="hint">{format!("No numbers on {t} yet.")}</p>
                            }
                                .into_any()
                        });
                };
                let words = format!(
                    "{t}: the last {} of at most {POINTS} numbers",
                    c.points
                );
                Some(
                    view! {
                        <h3 class="chart-title">{words}</h3>
                        <svg
                            class="chart-svg"
                            viewBox="-60 -10 720 240"
                            role="img"
                            aria-label=format!("Chart of {t}")
                            data-points=c.points
                        >
                            <line class="axis" x1="0" y1="200" x2="640" y2="200"></line>
                            <line class="axis" x1="0" y1="0" x2="0" y2="200"></line>
                            {c
                                .x_ticks
                                .into_iter()
                                .map(|(x, label)| {
                                    view! {
                                        <text class="tick x" x=decimal(x, 1) y="218" text-anchor="middle">
                                            {label}
                                        </text>
                                    }
                                })
                                .collect_view()}
                            {c
                                .y_ticks
                                .into_iter()
                                .map(|(y, label)| {
                                    view! {
                                        <text class="tick y" x="-6" y=decimal(y + 4.0, 1) text-anchor="end">
                                            {label}
                                        </text>
                                    }
                                })
                                .collect_view()}
                            <path class="line" d=c.path></path>
                        </svg>
                    }
                        .into_any(),
                )
            }}
            <button id="chart-close" type="button" on:click=move |_| topic.set(None)>
                "Close chart"
            </button>
        </section>
    }
}
