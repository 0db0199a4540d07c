//! Feature edits: `PATCH /layers/{layer}/features/{id}` changes a feature's name or
//! attributes, only by a token of the department that owns the feature (the `owner` of the
//! model; admins any). Every change is a row of an append-only journal in SQLite (who, when,
//! field, value before and after), written before it is applied in memory; at start the
//! journal is replayed onto the city read from its store, so a restart (or a `kill -9`)
//! loses no acknowledged edit. `GET …/history` gives a feature's edits and its recorded
//! state series.

use rusqlite::{Connection, params};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use twin_model::{AttrType, AttrValue, City, Feature, FeatureId, Layer, RESERVED_FIELDS};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS feature_edits (
    id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    who TEXT NOT NULL,
    department TEXT NOT NULL,
    layer TEXT NOT NULL,
    fid INTEGER NOT NULL,
    field TEXT NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feature_edits_key ON feature_edits (layer, fid);
";

/// Longest text value, characters.
pub const MAX_TEXT: usize = 1000;
/// Most fields changed in one request.
pub const MAX_FIELDS: usize = 50;

/// One changed field.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Edit {
    /// When, ms since the epoch.
    pub time_ms: i64,
    /// The token's name.
    pub who: String,
    /// Its department.
    pub department: String,
    /// Layer table name.
    pub layer: String,
    /// Feature id.
    pub fid: i64,
    /// `name` or an attribute.
    pub field: String,
    /// The value before (JSON; null when absent).
    pub old: Value,
    /// The value after (JSON; null removes the attribute).
    pub new: Value,
}

/// The journal.
pub struct Edits {
    conn: Mutex<Connection>,
}

impl Edits {
    /// Opens (creating if needed) the journal in the SQLite file at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Edits> {
        Ok(Edits {
            conn: Mutex::new(crate::audit::open_durable(path, SCHEMA)?),
        })
    }

    /// Appends the edits of one request in one transaction (durable when it returns).
    pub fn append(&self, edits: &[Edit]) -> rusqlite::Result<()> {
        let mut c = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = c.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO feature_edits (time_ms, who, department, layer, fid, field, old, new)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for e in edits {
                st.execute(params![
                    e.time_ms,
                    e.who,
                    e.department,
                    e.layer,
                    e.fid,
                    e.field,
                    e.old.to_string(),
                    e.new.to_string()
                ])?;
            }
        }
        tx.commit()
    }

    fn query(&self, filter: Option<(&str, i64)>) -> rusqlite::Result<Vec<Edit>> {
        let c = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let sql = "SELECT time_ms, who, department, layer, fid, field, old, new FROM feature_edits";
        let map = |r: &rusqlite::Row| -> rusqlite::Result<Edit> {
            let js = |s: String| serde_json::from_str(&s).unwrap_or(Value::String(s));
            Ok(Edit {
                time_ms: r.get(0)?,
                who: r.get(1)?,
                department: r.get(2)?,
                layer: r.get(3)?,
                fid: r.get(4)?,
                field: r.get(5)?,
                old: js(r.get(6)?),
                new: js(r.get(7)?),
            })
        };
        match filter {
            None => {
                let mut st = c.prepare(&format!("{sql} ORDER BY id"))?;
                st.query_map([], map)?.collect()
            }
            Some((l, id)) => {
                let mut st =
                    c.prepare(&format!("{sql} WHERE layer = ?1 AND fid = ?2 ORDER BY id"))?;
                st.query_map(params![l, id], map)?.collect()
            }
        }
    }

    /// How many edits the journal holds.
    pub fn count(&self) -> rusqlite::Result<u64> {
        let c = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        c.query_row("SELECT COUNT(*) FROM feature_edits", [], |r| r.get(0))
    }

    /// Every edit, oldest first.
    pub fn all(&self) -> rusqlite::Result<Vec<Edit>> {
        self.query(None)
    }

    /// One feature's edits, oldest first.
    pub fn of(&self, layer: Layer, id: FeatureId) -> rusqlite::Result<Vec<Edit>> {
        self.query(Some((layer.table_name(), id.0)))
    }
}

/// A feature's field as JSON (null when absent).
pub fn field_json(city: &City, layer: Layer, id: FeatureId, field: &str) -> Value {
    let Some(f) = city.layer(layer).get(id) else {
        return Value::Null;
    };
    if field == "name" {
        return f.name.as_ref().map_or(Value::Null, |n| json!(n));
    }
    match f.attrs.get(field) {
        None => Value::Null,
        Some(AttrValue::Int(i)) => json!(i),
        Some(AttrValue::Real(r)) => json!(r),
        Some(AttrValue::Text(t)) => json!(t),
        Some(AttrValue::Bool(b)) => json!(b),
    }
}

/// The type a layer's features hold under `field`, if any holds it.
fn field_type(city: &City, layer: Layer, field: &str) -> Option<AttrType> {
    city.layer(layer)
        .features()
        .iter()
        .find_map(|f| f.attrs.get(field).map(AttrValue::attr_type))
}

/// Checks one requested change and gives the value to store: `Err((en, vi))` names the
/// field and what is wrong. `name` takes text or null; an attribute keeps its layer's type
/// (a whole number is accepted where the layer holds reals); a new attribute takes its
/// type from the value.
pub fn check(
    city: &City,
    layer: Layer,
    field: &str,
    v: &Value,
) -> Result<Option<AttrValue>, (String, String)> {
    let bad = |en: String, vi: String| {
        Err((
            format!("field '{field}': {en}"),
            format!("trường '{field}': {vi}"),
        ))
    };
    if field == "name" {
        return match v {
            Value::Null => Ok(None),
            Value::String(s) if s.chars().count() <= MAX_TEXT => {
                Ok(Some(AttrValue::Text(s.clone())))
            }
            Value::String(_) => bad(
                format!("longer than {MAX_TEXT} characters"),
                format!("dài quá {MAX_TEXT} ký tự"),
            ),
            _ => bad(
                "a name is text or null".into(),
                "tên phải là chuỗi hoặc null".into(),
            ),
        };
    }
    if RESERVED_FIELDS.contains(&field) {
        return bad(
            "kind, owner, fid and geometry cannot be changed here".into(),
            "không được đổi kind, owner, fid và hình học".into(),
        );
    }
    let well_formed = !field.is_empty()
        && field.len() <= 64
        && field
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !field.as_bytes()[0].is_ascii_digit();
    if !well_formed {
        return bad(
            "an attribute name is 1 to 64 of a-z, 0-9 and _, not starting with a digit".into(),
            "tên thuộc tính gồm 1–64 ký tự a-z, 0-9 và _, không bắt đầu bằng số".into(),
        );
    }
    let want = field_type(city, layer, field);
    let got = match v {
        Value::Null => return Ok(None),
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) if want != Some(AttrType::Real) => AttrValue::Int(i),
            (_, Some(x)) if x.is_finite() => AttrValue::Real(x),
            _ => return bad("not a finite number".into(), "không phải số hữu hạn".into()),
        },
        Value::String(s) if s.chars().count() <= MAX_TEXT => AttrValue::Text(s.clone()),
        Value::String(_) => {
            return bad(
                format!("longer than {MAX_TEXT} characters"),
                format!("dài quá {MAX_TEXT} ký tự"),
            );
        }
        _ => {
            return bad(
                "a value is a number, text, true/false or null".into(),
                "giá trị phải là số, chuỗi, true/false hoặc null".into(),
            );
        }
    };
    match want {
        Some(t) if t != got.attr_type() => bad(
            format!(
                "the layer holds {} values here, got {}",
                t.name(),
                got.attr_type().name()
            ),
            format!(
                "lớp lưu kiểu {} ở trường này, nhận {}",
                t.name(),
                got.attr_type().name()
            ),
        ),
        _ => Ok(Some(got)),
    }
}

/// A layer by its table name (or any name [`Layer::parse`] takes).
pub fn layer_named(s: &str) -> Option<Layer> {
    Layer::ALL
        .into_iter()
        .find(|l| l.table_name() == s)
        .or_else(|| Layer::parse(s))
}

/// Sets one field of a feature.
pub fn set_field(f: &mut Feature, field: &str, v: Option<AttrValue>) {
    if field == "name" {
        f.name = v.and_then(|x| x.as_str().map(str::to_string));
    } else {
        match v {
            Some(x) => {
                f.attrs.insert(field.to_string(), x);
            }
            None => {
                f.attrs.remove(field);
            }
        }
    }
}

/// Replays the journal onto a city just read: returns how many edits were applied and how
/// many named a layer or feature the city no longer has, or a value its layer no longer
/// takes (warned by the caller). Each changed feature is put back once, so the spatial
/// index is rebuilt once per layer.
pub fn replay(city: &mut City, edits: &[Edit]) -> (usize, usize) {
    let (mut applied, mut missing) = (0, 0);
    let mut changed: BTreeMap<(Layer, FeatureId), Feature> = BTreeMap::new();
    for e in edits {
        let Some(layer) = layer_named(&e.layer) else {
            missing += 1;
            continue;
        };
        let id = FeatureId(e.fid);
        let Some(f) = changed
            .get(&(layer, id))
            .or_else(|| city.layer(layer).get(id))
            .cloned()
        else {
            missing += 1;
            continue;
        };
        match check(city, layer, &e.field, &e.new) {
            Ok(v) => {
                let mut f = f;
                set_field(&mut f, &e.field, v);
                changed.insert((layer, id), f);
                applied += 1;
            }
            Err(_) => missing += 1,
        }
    }
    for l in Layer::ALL {
        let fs: Vec<Feature> = changed
            .iter()
            .filter(|((cl, _), _)| *cl == l)
            .map(|(_, f)| f.clone())
            .collect();
        if !fs.is_empty() {
            city.layer_mut(l).extend(fs);
        }
    }
    (applied, missing)
}
