//! A room's stored history as a file: JSON (an array, one object per message, the fields as
//! on the wire plus `received_at`) or CSV (RFC 4180: a header, then one record per message,
//! every field quoted). Written a page of records at a time ([`Writer::page`]), so the app
//! can hand each page to a `Blob` and a long history never sits in memory twice.

/// The file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv;charset=utf-8",
        }
    }
}

/// The CSV columns.
pub const CSV_HEADER: &str = "received_at,name,message,id,from,reply_to,kind\r\n";

/// Writes a file in pages: [`Writer::start`], [`Writer::page`] for each run of messages
/// (oldest first), [`Writer::end`].
#[derive(Debug)]
pub struct Writer {
    format: Format,
    written: usize,
}

impl Writer {
    /// The writer, and the file's first text.
    pub fn start(format: Format) -> (Writer, String) {
        let head = match format {
            Format::Json => "[\n".to_owned(),
            // A byte-order mark, so spreadsheet programs read the file as UTF-8.
            Format::Csv => format!("\u{feff}{CSV_HEADER}"),
        };
        (Writer { format, written: 0 }, head)
    }

    /// The text of these messages, each `(payload, received at ms since the epoch)`.
    pub fn page<'a>(&mut self, messages: impl IntoIterator<Item = (&'a [u8], f64)>) -> String {
        let mut out = String::new();
        for (payload, at) in messages {
            match self.format {
                Format::Json => {
                    if self.written > 0 {
                        out.push_str(",\n");
                    }
                    json_item(&mut out, payload, at);
                }
                Format::Csv => csv_record(&mut out, payload, at),
            }
            self.written += 1;
        }
        out
    }

    /// The file's last text.
    pub fn end(self) -> String {
        match self.format {
            Format::Json if self.written > 0 => "\n]\n".to_owned(),
            Format::Json => "]\n".to_owned(),
            Format::Csv => String::new(),
        }
    }

    pub fn written(&self) -> usize {
        self.written
    }
}

/// `2026-12-05T21:07:03.120Z` (UTC), with no clock crate: days to a civil date
/// (Howard Hinnant's algorithm).
pub fn iso_time(ms: f64) -> String {
    let ms = if ms.is_finite() {
        ms.max(0.0) as i64
    } else {
        0
    };
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

/// One message as JSON: the wire's object exactly as it came (its fields, their order and
/// values), with `received_at` added unless it has one; anything else as `{"raw": text}`.
fn json_item(out: &mut String, payload: &[u8], at: f64) {
    let received = iso_time(at);
    let text = String::from_utf8_lossy(payload);
    let trimmed = text.trim();
    let object = trimmed
        .starts_with('{')
        .then(|| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(trimmed).ok())
        .flatten();
    if let Some(object) = object {
        if object.contains_key("received_at") {
            out.push_str(trimmed);
            return;
        }
        let inner = trimmed[1..trimmed.len() - 1].trim();
        out.push('{');
        if !inner.is_empty() {
            out.push_str(inner);
            out.push(',');
        }
        out.push_str(&format!("\"received_at\":\"{received}\"}}"));
    } else {
        let item = serde_json::json!({ "raw": text, "received_at": received });
        out.push_str(&item.to_string());
    }
}

/// One message as a CSV record: the fields this app reads (a payload that is not chat JSON
/// goes in `message` whole, `kind` saying so).
fn csv_record(out: &mut String, payload: &[u8], at: f64) {
    use crate::message::{decode_payload, Payload};
    let time = iso_time(at);
    let fields: [&str; 7];
    let kind;
    let decoded = decode_payload(payload);
    match &decoded {
        Payload::Chat(m) => {
            kind = if m.react.is_some() {
                "reaction"
            } else {
                "chat"
            };
            fields = [
                &time,
                &m.name,
                m.react.as_deref().unwrap_or(&m.message),
                m.id.as_deref().unwrap_or_default(),
                m.from.as_deref().unwrap_or_default(),
                m.reply_to
                    .as_deref()
                    .or(m.to.as_deref())
                    .unwrap_or_default(),
                kind,
            ];
        }
        Payload::Raw { text, .. } => {
            fields = [&time, "", text, "", "", "", "raw"];
        }
    }
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, field);
    }
    out.push_str("\r\n");
}

/// A field, always quoted (RFC 4180: quotes doubled; commas and line breaks stay inside).
/// A field that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or a
/// carriage return first) gets a `'` before it (OWASP's advice on CSV injection): another
/// client's message must never run in the reader's spreadsheet. The JSON export is exact.
pub(crate) fn csv_field(out: &mut String, field: &str) {
    out.push('"');
    if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    for c in field.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(format: Format, messages: &[(&str, f64)]) -> String {
        let (mut w, mut all) = Writer::start(format);
        // Two pages, as the app writes them.
        let (one, two) = messages.split_at(messages.len() / 2);
        for page in [one, two] {
            all.push_str(&w.page(page.iter().map(|(p, at)| (p.as_bytes(), *at))));
        }
        all.push_str(&w.end());
        all
    }

    #[test]
    fn times_are_iso_utc() {
        assert_eq!(iso_time(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(1_764_968_823_120.0), "2025-12-05T21:07:03.120Z");
        assert_eq!(iso_time(951_782_400_000.0), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_time(f64::NAN), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn json_keeps_the_wire_objects_and_adds_when_they_arrived() {
        let all = export(
            Format::Json,
            &[
                (
                    r#"{"name":"Ann","message":"hi","id":"a1","x":[1,{"y":null}]}"#,
                    0.0,
                ),
                ("plain text, \"quoted\"", 1000.0),
                (
                    r#"{"name":"b","message":"c","received_at":"theirs"}"#,
                    2000.0,
                ),
                ("{}", 3000.0),
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&all).expect("valid JSON");
        let items = v.as_array().unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0]["x"][1]["y"], serde_json::Value::Null);
        assert_eq!(items[0]["received_at"], "1970-01-01T00:00:00.000Z");
        assert!(all.contains(r#"{"name":"Ann","message":"hi","id":"a1","x":[1,{"y":null}],"#));
        assert_eq!(items[1]["raw"], "plain text, \"quoted\"");
        assert_eq!(items[2]["received_at"], "theirs");
        assert_eq!(items[3]["received_at"], "1970-01-01T00:00:03.000Z");
        let empty = export(Format::Json, &[]);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&empty).unwrap(),
            serde_json::json!([])
        );
    }

    /// A minimal RFC 4180 reader, to read back what was written.
    fn read_csv(text: &str) -> Vec<Vec<String>> {
        let mut records = Vec::new();
        let (mut record, mut field, mut quoted, mut chars) =
            (Vec::new(), String::new(), false, text.chars().peekable());
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => record.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                (false, c) => field.push(c),
            }
        }
        records
    }

    #[test]
    fn csv_quotes_every_field_and_reads_back_one_record_per_message() {
        let all = export(
            Format::Csv,
            &[
                (
                    r#"{"name":"Ann, \"A\"","message":"line 1\nline 2, with \"quotes\"","id":"a1","reply_to":"z9"}"#,
                    0.0,
                ),
                ("raw bytes; not JSON", 1000.0),
                (
                    r#"{"name":"evil","message":"=HYPERLINK(\"http://x\")"}"#,
                    2000.0,
                ),
                (r#"{"name":"cli","react":"👍","to":"a1"}"#, 3000.0),
            ],
        );
        assert!(all.starts_with('\u{feff}'));
        let records = read_csv(all.trim_start_matches('\u{feff}'));
        assert_eq!(records.len(), 5, "the header and one record per message");
        assert_eq!(records[0].join(","), CSV_HEADER.trim_end());
        assert_eq!(
            records[1],
            [
                "1970-01-01T00:00:00.000Z",
                "Ann, \"A\"",
                "line 1\nline 2, with \"quotes\"",
                "a1",
                "",
                "z9",
                "chat"
            ]
        );
        assert_eq!(records[2][2], "raw bytes; not JSON");
        assert_eq!(records[2][6], "raw");
        assert_eq!(
            records[3][2], "'=HYPERLINK(\"http://x\")",
            "never a formula"
        );
        assert_eq!(
            (records[4][2].as_str(), records[4][6].as_str()),
            ("👍", "reaction")
        );
        assert!(records.iter().all(|r| r.len() == 7));
    }
}
