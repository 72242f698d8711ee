//! Numbers over time, per topic: the points a sparkline and an opened chart draw, and
//! their geometry (SVG path data and axis labels), computed here so the view only sets
//! attributes.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// Points kept per topic (an opened chart shows them all).
pub const POINTS: usize = 500;
/// Points a sparkline draws (the newest).
pub const SPARK_POINTS: usize = 60;
/// Topics with a series at most; past it the least recently updated goes.
pub const SERIES_TOPICS: usize = 2_000;
/// Bytes of topic names with a series at most, likewise.
pub const SERIES_TOPIC_BYTES: usize = 4 << 20;

/// One topic's numbers, oldest first: (wall clock ms, value).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    points: VecDeque<(f64, f64)>,
    seq: u64,
}

impl Series {
    pub fn points(&self) -> impl DoubleEndedIterator<Item = (f64, f64)> + ExactSizeIterator + '_ {
        self.points.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn last(&self) -> Option<(f64, f64)> {
        self.points.back().copied()
    }
}

/// The series of every charted topic.
#[derive(Clone, Debug, Default)]
pub struct Charts {
    by_topic: HashMap<String, Series>,
    by_age: BTreeMap<u64, String>,
    seq: u64,
    topic_bytes: usize,
}

impl Charts {
    /// A number came on `topic` at `at`. Not finite: ignored.
    pub fn add(&mut self, topic: &str, at: f64, value: f64) {
        if !value.is_finite() || !at.is_finite() {
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        if let Some(series) = self.by_topic.get_mut(topic) {
            self.by_age.remove(&series.seq);
            series.seq = seq;
            if series.points.len() == POINTS {
                series.points.pop_front();
            }
            series.points.push_back((at, value));
        } else {
            while self.by_topic.len() >= SERIES_TOPICS
                || (self.topic_bytes + topic.len() > SERIES_TOPIC_BYTES
                    && !self.by_topic.is_empty())
            {
                let Some((_, oldest)) = self.by_age.pop_first() else {
                    break;
                };
                self.by_topic.remove(&oldest);
                self.topic_bytes -= oldest.len();
            }
            self.topic_bytes += topic.len();
            self.by_topic.insert(
                topic.to_owned(),
                Series {
                    points: VecDeque::from([(at, value)]),
                    seq,
                },
            );
        }
        self.by_age.insert(seq, topic.to_owned());
    }

    pub fn get(&self, topic: &str) -> Option<&Series> {
        self.by_topic.get(topic)
    }

    pub fn topics(&self) -> usize {
        self.by_topic.len()
    }

    pub fn clear(&mut self) {
        *self = Charts::default();
    }
}

/// The range of some values, widened when flat so a line sits in the middle.
fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        return None;
    }
    if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        let pad = (hi.abs() * 0.1).max(1.0);
        return Some((lo - pad, hi + pad));
    }
    Some((lo, hi))
}

/// `v` with `decimals` digits after the point (trailing zeros dropped), written with
/// integer arithmetic: formatting an `f64` with `core::fmt` would bring its float printer
/// (about 8 KB gzip) into the first load, which holds the formatting tables every chunk
/// shares.
pub fn decimal(v: f64, decimals: u32) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let scale = 10i128.pow(decimals.min(12));
    let scaled = (v * scale as f64).round() as i128;
    let (sign, scaled) = if scaled < 0 {
        ("-", -scaled)
    } else {
        ("", scaled)
    };
    let (int, mut frac) = (scaled / scale, scaled % scale);
    let mut out = format!("{sign}{int}");
    if frac > 0 {
        let mut width = decimals.min(12) as usize;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        out.push_str(&format!(".{frac:0width$}"));
    }
    out
}

fn fmt_coord(out: &mut String, v: f64) {
    // One decimal is finer than a pixel.
    out.push_str(&decimal(v, 1));
}

/// SVG path data for `points` in a `width` × `height` box (y grows down), spaced by time.
pub fn path_of(points: &[(f64, f64)], width: f64, height: f64) -> String {
    let Some((y_lo, y_hi)) = range(points.iter().map(|p| p.1)) else {
        return String::new();
    };
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    let span = (t1 - t0).max(1.0);
    let mut out = String::with_capacity(points.len() * 12);
    for (i, (t, v)) in points.iter().enumerate() {
        out.push(if i == 0 { 'M' } else { 'L' });
        let x = if points.len() == 1 {
            width
        } else {
            (t - t0) / span * width
        };
        let y = height - (v - y_lo) / (y_hi - y_lo) * height;
        fmt_coord(&mut out, x);
        out.push(',');
        fmt_coord(&mut out, y);
    }
    out
}

/// A sparkline's path: the newest [`SPARK_POINTS`] of `series`.
pub fn sparkline(series: &Series, width: f64, height: f64) -> String {
    let skip = series.len().saturating_sub(SPARK_POINTS);
    let points: Vec<(f64, f64)> = series.points().skip(skip).collect();
    path_of(&points, width, height)
}

/// An opened chart: the line, and labelled ticks on both axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub path: String,
    /// (x, label) along the time axis.
    pub x_ticks: Vec<(f64, String)>,
    /// (y, label) along the value axis.
    pub y_ticks: Vec<(f64, String)>,
    pub points: usize,
}

/// The chart of all of `series` in `width` × `height`; times labelled in local time
/// (`offset_min`: minutes to add to UTC, i.e. minus JavaScript's `getTimezoneOffset`).
pub fn chart(series: &Series, width: f64, height: f64, offset_min: i64) -> Chart {
    let points: Vec<(f64, f64)> = series.points().collect();
    let path = path_of(&points, width, height);
    let mut x_ticks = Vec::new();
    let mut y_ticks = Vec::new();
    if let (Some(&(t0, _)), Some(&(t1, _)), Some((lo, hi))) = (
        points.first(),
        points.last(),
        range(points.iter().map(|p| p.1)),
    ) {
        let span = (t1 - t0).max(1.0);
        // Under 10 s from end to end, whole seconds would repeat: tenths then.
        let tenths = span < 10_000.0;
        for i in 0..=4 {
            let f = f64::from(i) / 4.0;
            let mut label = clock(t0 + f * span, offset_min);
            if tenths {
                let tenth = ((t0 + f * span) / 100.0).floor().rem_euclid(10.0) as u8;
                label.push_str(&format!(".{tenth}"));
            }
            x_ticks.push((f * width, label));
            y_ticks.push((height - f * height, number_label(lo + f * (hi - lo))));
        }
    }
    Chart {
        path,
        x_ticks,
        y_ticks,
        points: points.len(),
    }
}

/// `14:03:07` for a wall clock time.
pub fn clock(ms: f64, offset_min: i64) -> String {
    let secs = (ms / 1000.0).floor() as i64 + offset_min * 60;
    let day = secs.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day / 3600, day / 60 % 60, day % 60)
}

/// A value for an axis: at most 4 significant digits, no exponent for everyday sizes.
pub fn number_label(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let digits = v.abs().log10().floor() as i32;
    if !(-4..=9).contains(&digits) {
        let mantissa = v / 10f64.powi(digits);
        let m = decimal(mantissa, 2);
        let m = if m.contains('.') { m } else { format!("{m}.0") };
        return format!("{m}e{digits}");
    }
    decimal(v, (3 - digits).clamp(0, 6) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_keep_the_newest_points_of_the_newest_topics() {
        let mut c = Charts::default();
        for i in 0..POINTS + 10 {
            c.add("t", i as f64, i as f64);
        }
        let s = c.get("t").unwrap();
        assert_eq!(s.len(), POINTS);
        assert_eq!(s.points().next(), Some((10.0, 10.0)));
        c.add("t", 1e6, f64::NAN);
        assert_eq!(c.get("t").unwrap().len(), POINTS);
        for i in 0..SERIES_TOPICS {
            c.add(&format!("o/{i}"), 0.0, 1.0);
        }
        assert_eq!(c.topics(), SERIES_TOPICS);
        assert!(c.get("t").is_none(), "the least recently updated went");
        c.add("o/0", 1.0, 2.0);
        c.add("new", 1.0, 2.0);
        assert!(c.get("o/0").is_some());
        assert!(c.get("o/1").is_none());
        let mut long = Charts::default();
        let name = "x".repeat(60_000);
        for i in 0..200 {
            long.add(&format!("{name}{i}"), 0.0, 1.0);
        }
        assert!(long.topics() < 200);
        assert!(long.topic_bytes <= SERIES_TOPIC_BYTES);
    }

    #[test]
    fn paths_fit_the_box() {
        let p = path_of(&[(0.0, 1.0), (50.0, 3.0), (100.0, 2.0)], 100.0, 20.0);
        assert_eq!(p, "M0,20L50,0L100,10");
        // Flat and single points sit inside.
        assert_eq!(path_of(&[(5.0, 7.0)], 10.0, 10.0), "M10,5");
        assert_eq!(path_of(&[], 10.0, 10.0), "");
        let mut s = Series::default();
        for i in 0..100 {
            s.points.push_back((i as f64, (i % 7) as f64));
        }
        assert_eq!(
            sparkline(&s, 60.0, 16.0).matches('L').count(),
            SPARK_POINTS - 1
        );
    }

    #[test]
    fn charts_label_time_and_values() {
        let mut s = Series::default();
        s.points.push_back((0.0, -2.0));
        s.points.push_back((60_000.0, 8.0));
        let c = chart(&s, 400.0, 100.0, 60);
        let mut short = Series::default();
        short.points.push_back((1_000.0, 1.0));
        short.points.push_back((3_000.0, 2.0));
        let labels: Vec<String> = chart(&short, 400.0, 100.0, 0)
            .x_ticks
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(
            labels,
            [
                "00:00:01.0",
                "00:00:01.5",
                "00:00:02.0",
                "00:00:02.5",
                "00:00:03.0"
            ]
        );
        assert_eq!(c.points, 2);
        assert_eq!(c.x_ticks[0], (0.0, "01:00:00".into()));
        assert_eq!(c.x_ticks[4], (400.0, "01:01:00".into()));
        assert_eq!(c.y_ticks[0], (100.0, "-2".into()));
        assert_eq!(c.y_ticks[2], (50.0, "3".into()));
        assert_eq!(number_label(21.456789), "21.46");
        assert_eq!(number_label(0.000123), "0.000123");
        assert_eq!(number_label(1234567.0), "1234567");
        assert_eq!(number_label(1e12), "1.0e12");
        assert_eq!(number_label(-2.5e-7), "-2.5e-7");
        assert_eq!(decimal(-0.04, 1), "0");
        assert_eq!(decimal(1.25, 2), "1.25");
        assert_eq!(decimal(-3.1, 1), "-3.1");
        assert_eq!(clock(-1000.0, 0), "23:59:59");
    }
}
