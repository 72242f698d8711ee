//! What the viewer holds, as a file: JSON (an array of objects) or CSV (RFC 4180, the
//! same quoting and formula guard as the history's export). One record per message:
//! topic, payload (as text when it is UTF-8, else Base64), QoS, retain, time. A payload the
//! viewer kept only in part says so (`cut`, with its whole `size`): the viewer keeps at
//! most [`crate::watch::SHOWN_BYTES`] of a text and [`crate::watch::SHOWN_HEX_BYTES`] of
//! binary, so that a flood of large messages cannot fill the page's memory.

use crate::export::{csv_field, iso_time, Format};
use crate::viewer::decode::base64_encode;
use crate::watch::{Body, Seen};

/// The CSV columns.
pub const CSV_HEADER: &str = "topic,payload,encoding,qos,retain,received_at,size,cut\r\n";

/// The payload as exported: the text, or Base64 of the bytes kept, and how.
fn payload_of(seen: &Seen) -> (String, &'static str, bool) {
    match &seen.body {
        Body::Text { text, cut } => (text.clone(), "text", *cut),
        Body::Hex { hex, cut } => (base64_encode(&bytes_of_hex(hex)), "base64", *cut),
        Body::Skipped { .. } => (String::new(), "none", true),
    }
}

/// The bytes behind the viewer's hex view (pairs of digits, spaced).
fn bytes_of_hex(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex
        .bytes()
        .filter_map(|b| char::from(b).to_digit(16))
        .map(|d| d as u8)
        .collect();
    digits.chunks_exact(2).map(|p| (p[0] << 4) | p[1]).collect()
}

/// The whole file for `rows` (oldest first, or by topic).
pub fn write<'a>(format: Format, rows: impl IntoIterator<Item = &'a Seen>) -> String {
    let mut out = String::new();
    match format {
        Format::Json => out.push('['),
        Format::Csv => {
            out.push('\u{feff}');
            out.push_str(CSV_HEADER);
        }
    }
    let mut n = 0usize;
    for seen in rows {
        let (payload, encoding, cut) = payload_of(seen);
        let time = iso_time(seen.at);
        match format {
            Format::Json => {
                if n > 0 {
                    out.push(',');
                }
                out.push('\n');
                let item = serde_json::json!({
                    "topic": seen.topic,
                    "payload": payload,
                    "encoding": encoding,
                    "qos": seen.qos as u8,
                    "retain": seen.retain,
                    "received_at": time,
                    "size": seen.size,
                    "cut": cut,
                });
                out.push_str(&item.to_string());
            }
            Format::Csv => {
                let fields = [
                    seen.topic.as_str(),
                    &payload,
                    encoding,
                    if seen.qos as u8 == 0 { "0" } else { "1" },
                    if seen.retain { "true" } else { "false" },
                    &time,
                    &seen.size.to_string(),
                    if cut { "true" } else { "false" },
                ];
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    csv_field(&mut out, field);
                }
                out.push_str("\r\n");
            }
        }
        n += 1;
    }
    if format == Format::Json {
        out.push_str(if n > 0 { "\n]\n" } else { "]\n" });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::Watch;
    use mqtt_core::QoS;

    #[test]
    fn text_binary_and_hostile_cells_export_exactly() {
        let mut w = Watch::default();
        w.add_filter("#", QoS::AtMostOnce).unwrap();
        w.receive("a/b", b"{\"t\":21.5}", QoS::AtLeastOnce, true, 0.0);
        w.receive("bin", &[0, 0xff, 0x10], QoS::AtMostOnce, false, 1000.0);
        w.receive("=cmd", b"=HYPERLINK(\"x\")", QoS::AtMostOnce, false, 2000.0);
        let rows = w.stream();
        let json = write(Format::Json, rows.iter().map(|s| s.as_ref()));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["topic"], "a/b");
        assert_eq!(v[0]["payload"], "{\"t\":21.5}");
        assert_eq!(v[0]["encoding"], "text");
        assert_eq!(v[0]["qos"], 1);
        assert_eq!(v[0]["retain"], true);
        assert_eq!(v[0]["received_at"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v[1]["payload"], "AP8Q");
        assert_eq!(v[1]["encoding"], "base64");
        assert_eq!(v[1]["cut"], false);
        let csv = write(Format::Csv, rows.iter().map(|s| s.as_ref()));
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "\u{feff}topic,payload,encoding,qos,retain,received_at,size,cut"
        );
        assert_eq!(
            lines[1],
            "\"a/b\",\"{\"\"t\"\":21.5}\",\"text\",\"1\",\"true\",\"1970-01-01T00:00:00.000Z\",\"10\",\"false\""
        );
        assert!(
            lines[3].starts_with("\"'=cmd\",\"'=HYPERLINK(\"\"x\"\")\""),
            "{}",
            lines[3]
        );
        assert_eq!(write(Format::Json, []), "[]\n");
    }

    #[test]
    fn a_cut_payload_says_so() {
        let mut w = Watch::default();
        w.add_filter("#", QoS::AtMostOnce).unwrap();
        let big = "x".repeat(crate::watch::SHOWN_BYTES + 10);
        w.receive("big", big.as_bytes(), QoS::AtMostOnce, false, 0.0);
        let rows = w.stream();
        let json = write(Format::Json, rows.iter().map(|s| s.as_ref()));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["cut"], true);
        assert_eq!(v[0]["size"], crate::watch::SHOWN_BYTES + 10);
    }
}
