//! The snapshot format: one reading
//! `{"sensor":"…","time":"2025-09-30T06:05:00+07:00","value":12.3,"unit":"mm/h","quality":"ok"}`
//! (`quality` optional: `ok`, `suspect` or `bad`), a batch as a JSON array of readings or as
//! NDJSON (one reading per line), and OGC SensorThings API Observations (`phenomenonTime`,
//! `result`, the Datastream by `Datastream@iot.id`, a `Datastream` object with `@iot.id`, or a
//! `Datastream@iot.navigationLink` ending `Datastreams(ID)`), alone or as a collection
//! `{"value": [...]}`, mapped to the same reading. `schemas/snapshot.schema.json` is the
//! native format's JSON Schema (draft 2020-12); this parser accepts exactly what it accepts.

use crate::reason::Reason;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Default largest message (an MQTT payload, a stdin line), bytes.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Longest sensor id, characters (as the schema's `maxLength`).
pub const MAX_ID_CHARS: usize = 200;
/// Longest unit, characters.
pub const MAX_UNIT_CHARS: usize = 32;

/// How a reading names its sensor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SensorRef {
    /// By the registry's sensor id (the native format).
    Id(String),
    /// By a SensorThings Datastream id (the registry maps it, else it is taken as the id).
    Datastream(String),
}

impl SensorRef {
    /// The id text.
    pub fn text(&self) -> &str {
        match self {
            SensorRef::Id(s) | SensorRef::Datastream(s) => s,
        }
    }
}

/// The sender's own quality flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderQuality {
    /// Good.
    Ok,
    /// Doubtful (passed on to QC like `ok`).
    Suspect,
    /// Bad: quarantined as `sender_flagged`.
    Bad,
}

/// One parsed reading, before QC.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The sensor it claims to be from.
    pub sensor: SensorRef,
    /// Time, ms since 1970-01-01T00:00:00Z.
    pub time_ms: i64,
    /// The time as written (RFC 3339, its offset kept).
    pub time: String,
    /// Value as sent.
    pub value: f64,
    /// Unit as sent (`None` for SensorThings, whose unit is the Datastream's: the sensor's).
    pub unit: Option<String>,
    /// Sender's flag, if any.
    pub quality: Option<SenderQuality>,
}

/// A message that is not a reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// `Malformed` or `Oversized`.
    pub reason: Reason,
    /// What is wrong, naming the place (element, line) and field.
    pub detail: String,
    /// The start of the offending text (at most 200 bytes), for the record.
    pub excerpt: String,
}

impl Rejected {
    fn malformed(detail: String, text: &str) -> Rejected {
        Rejected {
            reason: Reason::Malformed,
            detail,
            excerpt: excerpt(text),
        }
    }
}

/// The first 200 bytes of a text (cut on a character boundary).
pub fn excerpt(text: &str) -> String {
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    sensor: String,
    time: String,
    value: f64,
    unit: String,
    #[serde(default)]
    quality: Option<SenderQuality>,
}

/// Whether `s` has the RFC 3339 date-time shape the schema's pattern names:
/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`.
fn rfc3339_shape(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        r.clone()
            .all(|i| b.get(i).is_some_and(|c| c.is_ascii_digit()))
    };
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || b[10] != b'T'
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z'] => true,
        [s, h1, h2, b':', m1, m2] => {
            (*s == b'+' || *s == b'-') && [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

/// Parses an RFC 3339 time (the schema's shape, then a real calendar date and clock time) to
/// ms since the epoch.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if !rfc3339_shape(s) {
        return Err(format!(
            "'{}' is not an RFC 3339 time like 2025-09-30T06:05:00+07:00",
            excerpt(s)
        ));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("'{s}' is not a valid time: {e}"))
}

/// Parses an RFC 3339 time to ms since the epoch and its UTC offset, s.
pub fn parse_time_offset(s: &str) -> Result<(i64, i32), String> {
    let ms = parse_time(s)?;
    let off = chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.offset().local_minus_utc())
        .map_err(|e| e.to_string())?;
    Ok((ms, off))
}

/// Writes ms since the epoch as RFC 3339 at a UTC offset (s), to the second
/// (`2025-09-30T06:05:00+07:00`).
pub fn format_time(ms: i64, offset_s: i32) -> String {
    let off = chrono::FixedOffset::east_opt(offset_s)
        .unwrap_or(chrono::FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()));
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&off)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or_default()
}

fn check_text(field: &str, s: &str, max: usize) -> Result<(), String> {
    let n = s.chars().count();
    if n == 0 {
        return Err(format!("field '{field}': empty"));
    }
    if n > max {
        return Err(format!("field '{field}': {n} characters, at most {max}"));
    }
    Ok(())
}

/// One native reading from a JSON value.
fn native(v: &Value) -> Result<Reading, String> {
    let w: Wire = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    check_text("sensor", &w.sensor, MAX_ID_CHARS)?;
    check_text("unit", &w.unit, MAX_UNIT_CHARS)?;
    let time_ms = parse_time(&w.time).map_err(|e| format!("field 'time': {e}"))?;
    Ok(Reading {
        sensor: SensorRef::Id(w.sensor),
        time_ms,
        time: w.time,
        value: w.value,
        unit: Some(w.unit),
        quality: w.quality,
    })
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() && s.chars().count() <= MAX_ID_CHARS => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One SensorThings Observation from a JSON object.
fn sensorthings(o: &serde_json::Map<String, Value>) -> Result<Reading, String> {
    let ds = if let Some(v) = o.get("Datastream@iot.id") {
        id_text(v).ok_or("field 'Datastream@iot.id': not a string or number id")?
    } else if let Some(d) = o.get("Datastream") {
        d.get("@iot.id")
            .and_then(id_text)
            .ok_or("field 'Datastream': no '@iot.id' string or number")?
    } else if let Some(l) = o.get("Datastream@iot.navigationLink") {
        let l = l
            .as_str()
            .ok_or("field 'Datastream@iot.navigationLink': not a string")?;
        let inner = l
            .rsplit_once("Datastreams(")
            .and_then(|(_, r)| r.strip_suffix(')'))
            .ok_or("field 'Datastream@iot.navigationLink': does not end 'Datastreams(ID)'")?;
        let inner = inner.trim_matches(|c| c == '\'' || c == '"');
        id_text(&Value::String(inner.to_string()))
            .ok_or("field 'Datastream@iot.navigationLink': empty id")?
    } else {
        return Err(
            "SensorThings Observation without 'Datastream@iot.id', 'Datastream' or 'Datastream@iot.navigationLink'"
                .into(),
        );
    };
    let pt = o
        .get("phenomenonTime")
        .and_then(Value::as_str)
        .ok_or("field 'phenomenonTime': not a string")?;
    // An interval `start/end` is the time the value holds for; its end is when it was known.
    let t = pt.rsplit('/').next().unwrap_or(pt);
    let time_ms = parse_time(t).map_err(|e| format!("field 'phenomenonTime': {e}"))?;
    let value = match o.get("result") {
        Some(Value::Number(n)) => n.as_f64().ok_or("field 'result': not a finite number")?,
        Some(Value::Bool(b)) => f64::from(u8::from(*b)),
        _ => return Err("field 'result': not a number or boolean".into()),
    };
    Ok(Reading {
        sensor: SensorRef::Datastream(ds),
        time_ms,
        time: t.to_string(),
        value,
        unit: None,
        quality: None,
    })
}

fn is_sensorthings(o: &serde_json::Map<String, Value>) -> bool {
    o.contains_key("result") && o.contains_key("phenomenonTime")
}

/// One reading from one JSON value (native or SensorThings).
fn one(v: &Value) -> Result<Reading, String> {
    match v {
        Value::Object(o) if is_sensorthings(o) => sensorthings(o),
        Value::Object(_) => native(v),
        _ => Err("not a JSON object".into()),
    }
}

/// Parses one message (a file's text, an MQTT payload, a stdin line): a reading, an array of
/// readings, a SensorThings Observation or collection, or NDJSON lines. Returns each reading
/// or the reason it is not one, in order; `max_bytes` bounds the message (larger: one
/// `Oversized`). Never panics.
pub fn parse_message(text: &[u8], max_bytes: usize) -> Vec<Result<Reading, Rejected>> {
    if text.len() > max_bytes {
        return vec![Err(Rejected {
            reason: Reason::Oversized,
            detail: format!("{} bytes, the limit is {max_bytes}", text.len()),
            excerpt: excerpt(&String::from_utf8_lossy(&text[..text.len().min(200)])),
        })];
    }
    let Ok(s) = std::str::from_utf8(text) else {
        return vec![Err(Rejected::malformed(
            "not UTF-8 text".into(),
            &String::from_utf8_lossy(&text[..text.len().min(200)]),
        ))];
    };
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    if s.trim().is_empty() {
        return vec![Err(Rejected::malformed("empty message".into(), s))];
    }
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                one(v).map_err(|e| {
                    Rejected::malformed(format!("element {}: {e}", i + 1), &v.to_string())
                })
            })
            .collect(),
        Ok(Value::Object(o))
            if !o.contains_key("sensor") && o.get("value").is_some_and(Value::is_array) =>
        {
            // A SensorThings collection response.
            let items = o["value"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    one(v).map_err(|e| {
                        Rejected::malformed(format!("value element {}: {e}", i + 1), &v.to_string())
                    })
                })
                .collect()
        }
        Ok(v) => vec![one(&v).map_err(|e| Rejected::malformed(e, s))],
        Err(whole) => {
            let lines: Vec<(usize, &str)> = s
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .collect();
            if lines.len() < 2 {
                return vec![Err(Rejected::malformed(format!("not JSON: {whole}"), s))];
            }
            lines
                .into_iter()
                .map(|(i, l)| match serde_json::from_str::<Value>(l) {
                    Ok(v) => {
                        one(&v).map_err(|e| Rejected::malformed(format!("line {}: {e}", i + 1), l))
                    }
                    Err(e) => Err(Rejected::malformed(
                        format!("line {}: not JSON: {e}", i + 1),
                        l,
                    )),
                })
                .collect()
        }
    }
}

/// The native JSON of a reading (the snapshot format), with the given id and unit.
pub fn to_json(
    sensor: &str,
    time: &str,
    value: f64,
    unit: &str,
    quality: Option<SenderQuality>,
) -> String {
    let mut o = serde_json::Map::new();
    o.insert("sensor".into(), Value::String(sensor.into()));
    o.insert("time".into(), Value::String(time.into()));
    o.insert(
        "value".into(),
        serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number),
    );
    o.insert("unit".into(), Value::String(unit.into()));
    if let Some(q) = quality {
        o.insert(
            "quality".into(),
            serde_json::to_value(q).unwrap_or(Value::Null),
        );
    }
    Value::Object(o).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<Reading> {
        parse_message(s.as_bytes(), DEFAULT_MAX_MESSAGE_BYTES)
            .into_iter()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn native_reading_keeps_its_offset_and_gives_utc_ms() {
        let r =
            ok(r#"{"sensor":"RG1","time":"2025-09-30T06:05:00+07:00","value":12.3,"unit":"mm/h"}"#);
        assert_eq!(r.len(), 1);
        // 2025-09-29T23:05:00Z
        assert_eq!(r[0].time_ms, 1_759_187_100_000);
        assert_eq!(r[0].sensor, SensorRef::Id("RG1".into()));
        assert_eq!(r[0].unit.as_deref(), Some("mm/h"));
    }

    #[test]
    fn array_ndjson_and_sensorthings_all_parse() {
        let a = ok(
            r#"[{"sensor":"a","time":"2025-09-30T06:05:00Z","value":1,"unit":"m"},
                      {"sensor":"b","time":"2025-09-30T06:05:00Z","value":2,"unit":"m","quality":"ok"}]"#,
        );
        assert_eq!(a.len(), 2);
        let n = ok(
            "{\"sensor\":\"a\",\"time\":\"2025-09-30T06:05:00Z\",\"value\":1,\"unit\":\"m\"}\n\n{\"sensor\":\"b\",\"time\":\"2025-09-30T06:06:00Z\",\"value\":2,\"unit\":\"m\"}\n",
        );
        assert_eq!(n.len(), 2);
        let s = ok(
            r#"{"@iot.id":5,"phenomenonTime":"2025-09-30T06:00:00+07:00/2025-09-30T06:05:00+07:00","result":0.42,"Datastream@iot.id":12}"#,
        );
        assert_eq!(s[0].sensor, SensorRef::Datastream("12".into()));
        assert_eq!(s[0].time_ms, 1_759_187_100_000);
        assert_eq!(s[0].unit, None);
        let l = ok(
            r#"{"value":[{"phenomenonTime":"2025-09-30T06:05:00Z","result":1,"Datastream@iot.navigationLink":"https://x/v1.1/Observations(3)/Datastreams(7)"},{"phenomenonTime":"2025-09-30T06:05:00Z","result":true,"Datastream":{"@iot.id":"pump-1"}}]}"#,
        );
        assert_eq!(l[0].sensor, SensorRef::Datastream("7".into()));
        assert_eq!(l[1].sensor, SensorRef::Datastream("pump-1".into()));
        assert_eq!(l[1].value, 1.0);
    }

    #[test]
    fn times_format_back_as_they_came() {
        let (ms, off) = parse_time_offset("2025-09-30T06:05:00+07:00").unwrap();
        assert_eq!((ms, off), (1_759_187_100_000, 25_200));
        assert_eq!(format_time(ms + 60_000, off), "2025-09-30T06:06:00+07:00");
        assert_eq!(format_time(ms, 0), "2025-09-29T23:05:00Z");
    }

    #[test]
    fn bad_messages_name_place_and_field() {
        let r = parse_message(
            b"{\"sensor\":\"a\",\"time\":\"yesterday\",\"value\":1,\"unit\":\"m\"}",
            1000,
        );
        let e = r[0].as_ref().unwrap_err();
        assert_eq!(e.reason, Reason::Malformed);
        assert!(e.detail.contains("field 'time'"), "{}", e.detail);
        let r = parse_message(b"[{\"sensor\":\"a\",\"time\":\"2025-09-30T06:05:00Z\",\"value\":\"x\",\"unit\":\"m\"}]", 1000);
        assert!(r[0].as_ref().unwrap_err().detail.starts_with("element 1:"));
        let r = parse_message(b"{\"sensor\":\"a\"}\nnot json\n", 1000);
        assert_eq!(r.len(), 2);
        assert!(
            r[1].as_ref()
                .unwrap_err()
                .detail
                .starts_with("line 2: not JSON")
        );
        let r = parse_message(&[b' '; 2000], 1000);
        assert_eq!(r[0].as_ref().unwrap_err().reason, Reason::Oversized);
        let r = parse_message(&[0xff, 0xfe], 1000);
        assert_eq!(r[0].as_ref().unwrap_err().reason, Reason::Malformed);
        // February 30th has the shape but is no date.
        assert!(parse_time("2025-02-30T00:00:00Z").is_err());
        assert!(parse_time("2025-09-30 06:00:00Z").is_err());
    }
}
