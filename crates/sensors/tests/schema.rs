//! `schemas/snapshot.schema.json` validates the example files in the repo, and the Rust parser
//! agrees with it (draft 2020-12, formats asserted) on a set of good and bad native messages.

use serde_json::Value;
use std::path::PathBuf;
use twin_sensors::reading::{DEFAULT_MAX_MESSAGE_BYTES, parse_message};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schemas/snapshot.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// Whether the parser takes the whole message (every reading in it).
fn rust_accepts(text: &str) -> bool {
    parse_message(text.as_bytes(), DEFAULT_MAX_MESSAGE_BYTES)
        .iter()
        .all(|r| r.is_ok())
}

#[test]
fn the_examples_in_the_repo_are_valid_and_parse() {
    let v = validator();
    let dir = root().join("schemas/examples");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut checked = 0;
    for p in names {
        let text = std::fs::read_to_string(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let n = parse_message(text.as_bytes(), DEFAULT_MAX_MESSAGE_BYTES).len();
        assert!(
            rust_accepts(&text) && n > 0,
            "{name}: the parser refuses it"
        );
        if name.starts_with("sensorthings") {
            // SensorThings is mapped, not native: the schema is for the native format.
            continue;
        }
        if name.ends_with(".ndjson") {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let inst: Value = serde_json::from_str(line).unwrap();
                assert!(v.is_valid(&inst), "{name}: {line}");
                checked += 1;
            }
        } else {
            let inst: Value = serde_json::from_str(&text).unwrap();
            let errors: Vec<String> = v.iter_errors(&inst).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{name}: {errors:?}");
            checked += 1;
        }
    }
    assert_eq!(
        checked, 4,
        "reading.json, batch.json and the two lines of batch.ndjson"
    );
}

#[test]
fn parser_and_schema_agree() {
    let v = validator();
    let good = [
        r#"{"sensor":"WL-57","time":"2025-09-30T06:05:00+07:00","value":0.42,"unit":"m"}"#,
        r#"{"sensor":"RG-61","time":"2025-09-29T23:05:00Z","value":12,"unit":"mm/h","quality":"ok"}"#,
        r#"{"sensor":"RG-61","time":"2025-09-29T23:05:00.250Z","value":-0.0,"unit":"mm/h","quality":"suspect"}"#,
        r#"{"sensor":"x","time":"2025-09-30T06:05:00-03:30","value":1e3,"unit":"m","quality":"bad"}"#,
        r#"{"sensor":"x","time":"2024-02-29T06:05:00+07:00","value":1,"unit":"m","quality":null}"#,
        r#"{"unit":"veh/h","value":1450,"time":"2025-09-30T06:05:00+07:00","sensor":"TC-12"}"#,
        r#"[{"sensor":"a","time":"2025-09-30T06:05:00Z","value":1,"unit":"m"},{"sensor":"b","time":"2025-09-30T06:05:00Z","value":2,"unit":"cm"}]"#,
        r#"{"sensor":"Điểm đo ngập 1","time":"2025-09-30T06:05:00+07:00","value":0,"unit":"m"}"#,
    ];
    let long_id = format!(
        r#"{{"sensor":"{}","time":"2025-09-30T06:05:00Z","value":1,"unit":"m"}}"#,
        "a".repeat(201)
    );
    let ok_id = format!(
        r#"{{"sensor":"{}","time":"2025-09-30T06:05:00Z","value":1,"unit":"m"}}"#,
        "ố".repeat(200)
    );
    let long_unit = format!(
        r#"{{"sensor":"a","time":"2025-09-30T06:05:00Z","value":1,"unit":"{}"}}"#,
        "m".repeat(33)
    );
    let bad = [
        r#"{"sensor":"a","time":"2025-09-30T06:05:00Z","value":1}"#,
        r#"{"sensor":"a","time":"2025-09-30T06:05:00Z","value":1,"unit":"m","colour":"red"}"#,
        r#"{"sensor":"a","time":"2025-09-30T06:05:00Z","value":"1","unit":"m"}"#,
        r#"{"sensor":"a","time":"2025-09-30T06:05:00Z","value":null,"unit":"m"}"#,
        r#"{"sensor":"","time":"2025-09-30T06:05:00Z","value":1,"unit":"m"}"#,
        r#"{"sensor":5,"time":"2025-09-30T06:05:00Z","value":1,"unit":"m"}"#,
        r#"{"sensor":"a","time":"2025-09-30T06:05:00","value":1,"unit":"m"}"#,
        r#"{"sensor":"a","time":"2025-09-30 06:05:00Z","value":1,"unit":"m"}"#,
        r#"{"sensor":"a","time":"2025-02-30T06:05:00Z","value":1,"unit":"m"}"#,
        r#"{"sensor":"a","time":"2025-09-30T25:05:00Z","value":1,"unit":"m"}"#,
        r#"{"sensor":"a","time":"1759187100","value":1,"unit":"m"}"#,
        r#"{"sensor":"a","time":"2025-09-30T06:05:00Z","value":1,"unit":""}"#,
        r#"{"sensor":"a","time":"2025-09-30T06:05:00Z","value":1,"unit":"m","quality":"great"}"#,
        r#"{"sensor":"a","time":"2025-09-30T06:05:00Z","value":[1],"unit":"m"}"#,
        r#"[{"sensor":"a","time":"2025-09-30T06:05:00Z","value":1,"unit":"m"},{"sensor":"b"}]"#,
        r#"5"#,
        r#""reading""#,
        r#"null"#,
    ];
    let mut n = 0;
    for (text, want) in good
        .iter()
        .map(|s| (s.to_string(), true))
        .chain([(ok_id, true)])
        .chain(
            bad.iter()
                .map(|s| (s.to_string(), false))
                .chain([(long_id, false), (long_unit, false)]),
        )
    {
        let inst: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v.is_valid(&inst), want, "schema on {text}");
        assert_eq!(rust_accepts(&text), want, "parser on {text}");
        n += 1;
    }
    assert_eq!(n, 29);
}
