//! PostgreSQL with PostGIS as the city's store, for a city that outgrows one machine: several
//! servers and the city's data warehouse share one database.
//!
//! The layout is the GeoPackage's ([`crate::gpkg`]): one table per layer (`fid`, `kind`,
//! `name`, `owner`, the layer's attributes, PostGIS geometry `geom` in the city CRS),
//! `twin_metadata`, `twin_fields` and `twin_state`, written by the same code through GDAL's
//! PostgreSQL driver and read back by the same code, so a city read from PostGIS is the city
//! read from its `.gpkg`: the same features, ids, attributes, geometry and CRS.
//!
//! The DEM: GDAL's PostGISRaster driver copies only from another PostGIS raster, so the DEM
//! is kept as the table `twin_dem` (`row`, `z`: one row of the grid, north first, as a
//! `float8[]` of its cells) with its grid (`dem.nx`, `dem.ny`, `dem.x0`, `dem.y0`,
//! `dem.cell`, `dem.nodata`) in `twin_metadata`; the cells come back as the same `f32`s.
//!
//! A store is named by GDAL's connection string, `PG:host=… port=… dbname=… user=…`, with
//! `active_schema=NAME` for a schema other than `public`. [`push_city`] writes everything in
//! one transaction: a failure leaves the schema as it was (an existing city is replaced only
//! with [`PushOptions::replace`], and readers see the old city until the new one is
//! committed). The one thing left behind on failure is the schema itself, which is created,
//! empty, before the transaction begins.

use crate::error::{IoError, Result};
use crate::gpkg;
use gdal::vector::{FieldValue, LayerAccess, OGRFieldType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use std::path::{Path, PathBuf};
use twin_model::{City, Layer, Raster};

/// The DEM's table.
const DEM_TABLE: &str = "twin_dem";

/// Whether `store` names a PostgreSQL database (GDAL's `PG:` prefix, any case) rather than a
/// file.
pub fn is_pg(store: &str) -> bool {
    store
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("PG:"))
}

/// The `key=value` pairs of a connection string after `PG:` (values may be single-quoted).
fn pairs(conn: &str) -> Vec<(String, String)> {
    let body = conn.get(3..).unwrap_or_default();
    let mut out = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek() == Some(&'\'') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '\'' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.push((key, value));
    }
    out
}

fn quote(v: &str) -> String {
    if !v.is_empty() && !v.contains(|c: char| c.is_whitespace() || c == '\'' || c == '\\') {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

fn join(pairs: &[(String, String)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect();
    format!("PG:{}", body.join(" "))
}

/// The connection string as errors and logs show it: the password replaced by `***`.
pub fn redact(conn: &str) -> String {
    if !is_pg(conn) {
        return conn.to_string();
    }
    let p: Vec<(String, String)> = pairs(conn)
        .into_iter()
        .map(|(k, v)| {
            if k.eq_ignore_ascii_case("password") {
                (k, "***".to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    join(&p)
}

fn label(conn: &str) -> PathBuf {
    PathBuf::from(redact(conn))
}

/// `NAME` is a plain lower-case SQL identifier (so it is never quoted, never injected).
fn check_schema(name: &str, at: &Path) -> Result<()> {
    let mut cs = name.chars();
    let ok = cs
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && cs.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63;
    if ok {
        Ok(())
    } else {
        Err(IoError::file(
            at,
            format!(
                "schema '{name}': use a plain lower-case name (a-z, 0-9, _; not starting with a digit; at most 63 characters) / \
                 lược đồ '{name}': dùng tên chữ thường (a-z, 0-9, _; không bắt đầu bằng số; tối đa 63 ký tự)"
            ),
        ))
    }
}

fn connect(conn: &str, update: bool) -> Result<Dataset> {
    crate::gdalmsg::capture();
    let mut flags = GdalOpenFlags::GDAL_OF_VECTOR;
    flags |= if update {
        GdalOpenFlags::GDAL_OF_UPDATE
    } else {
        GdalOpenFlags::GDAL_OF_READONLY
    };
    Dataset::open_ex(
        conn,
        DatasetOptions {
            open_flags: flags,
            allowed_drivers: Some(&["PostgreSQL"]),
            ..Default::default()
        },
    )
    .map_err(|e| {
        IoError::file(
            &label(conn),
            format!(
                "cannot connect to the PostgreSQL database / không kết nối được cơ sở dữ liệu PostgreSQL: {}",
                why(e)
            ),
        )
    })
}

/// GDAL's own words for an error (its message, without the wrapper's method name).
fn why(e: gdal::errors::GdalError) -> String {
    use gdal::errors::GdalError as G;
    match e {
        G::NullPointer { msg, .. } | G::CplError { msg, .. } if !msg.trim().is_empty() => {
            msg.trim().to_string()
        }
        other => other.to_string(),
    }
}

/// Runs one SQL statement; its first column's values as text.
fn sql(ds: &Dataset, q: &str, at: &Path) -> Result<Vec<String>> {
    crate::gdalmsg::capture();
    let rs = ds
        .execute_sql(q, None, gdal::vector::sql::Dialect::DEFAULT)
        .map_err(|e| IoError::file(at, format!("{q}: {}", why(e))))?;
    let mut out = Vec::new();
    if let Some(mut rs) = rs {
        for f in rs.features() {
            if let Ok(Some(v)) = f.field(0) {
                out.extend(gpkg::as_string(&Some(v)));
            }
        }
    }
    Ok(out)
}

/// How [`push_city`] writes.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// The schema (default: the connection string's `active_schema`, else `public`); created
    /// if absent.
    pub schema: Option<String>,
    /// Replace a city already in the schema (in the same transaction).
    pub replace: bool,
}

/// Every table [`push_city`] writes, in its schema.
pub fn tables() -> Vec<&'static str> {
    let mut t: Vec<&str> = Layer::ALL.iter().map(|l| l.table_name()).collect();
    t.extend([gpkg::META, gpkg::FIELDS, gpkg::STATE, DEM_TABLE]);
    t
}

/// The connection string that reads the city pushed with `schema`: `conn` with
/// `active_schema` set (left out for `public`).
pub fn with_schema(conn: &str, schema: &str) -> String {
    let mut p: Vec<(String, String)> = pairs(conn)
        .into_iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("active_schema"))
        .collect();
    if schema != "public" {
        p.push(("active_schema".into(), schema.into()));
    }
    join(&p)
}

/// Writes the whole city (every layer, its metadata, typed schema, state and DEM) into the
/// PostGIS database `conn` (`PG:…`), in one transaction. Refused, naming the database, when
/// it cannot be reached, lacks PostGIS, or already holds a city in the schema and `replace`
/// is not set. Returns the connection string that reads it back.
pub fn push_city(city: &City, conn: &str, opts: &PushOptions) -> Result<String> {
    let at = label(conn);
    if !is_pg(conn) {
        return Err(IoError::file(
            &at,
            "not a PostgreSQL connection string: expected PG:host=… dbname=… / \
             không phải chuỗi kết nối PostgreSQL: cần PG:host=… dbname=…",
        ));
    }
    let given = pairs(conn)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("active_schema"))
        .map(|(_, v)| v);
    let schema = match (&opts.schema, &given) {
        (Some(a), Some(b)) if a != b => {
            return Err(IoError::file(
                &at,
                format!(
                    "schema '{a}' given, but the connection string says active_schema={b} / \
                     lược đồ '{a}' khác active_schema={b} trong chuỗi kết nối"
                ),
            ));
        }
        (Some(a), _) => a.clone(),
        (None, Some(b)) => b.clone(),
        (None, None) => "public".to_string(),
    };
    check_schema(&schema, &at)?;
    gpkg::check_fields(city, &at)?;
    let base = with_schema(conn, "public");
    {
        let ds = connect(&base, true)?;
        sql(&ds, "SELECT postgis_version()", &at).map_err(|e| {
            IoError::file(
                &at,
                format!(
                    "the database has no PostGIS: run CREATE EXTENSION postgis; in it first / \
                     cơ sở dữ liệu chưa có PostGIS: hãy chạy CREATE EXTENSION postgis; trước ({e})"
                ),
            )
        })?;
        if schema != "public" {
            sql(&ds, &format!("CREATE SCHEMA IF NOT EXISTS {schema}"), &at)?;
        }
    }
    let target = with_schema(conn, &schema);
    let mut ds = connect(&target, true)?;
    let names: Vec<String> = tables().iter().map(|t| format!("'{t}'")).collect();
    let existing = sql(
        &ds,
        &format!(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}' \
             AND table_name IN ({}) ORDER BY table_name",
            names.join(", ")
        ),
        &at,
    )?;
    if !existing.is_empty() && !opts.replace {
        return Err(IoError::file(
            &at,
            format!(
                "schema '{schema}' already holds a city (tables {}); give --replace to replace it / \
                 lược đồ '{schema}' đã có một thành phố; dùng --replace để thay thế",
                existing.join(", ")
            ),
        ));
    }
    let mut layer_opts = vec!["LAUNDER=NO", "PRECISION=NO"];
    if opts.replace {
        layer_opts.push("OVERWRITE=YES");
    }
    let mut meta: Vec<(String, String)> = Vec::new();
    if let Some(d) = &city.dem {
        if d.data.len() != d.nx * d.ny {
            return Err(IoError::format(
                &at,
                "DEM",
                format!(
                    "{} cells for a {}×{} grid / {} ô cho lưới {}×{}",
                    d.data.len(),
                    d.nx,
                    d.ny,
                    d.data.len(),
                    d.nx,
                    d.ny
                ),
            ));
        }
        meta.extend([
            ("dem.nx".to_string(), d.nx.to_string()),
            ("dem.ny".to_string(), d.ny.to_string()),
            ("dem.x0".to_string(), d.x0.to_string()),
            ("dem.y0".to_string(), d.y0.to_string()),
            ("dem.cell".to_string(), d.cell.to_string()),
        ]);
        if let Some(n) = d.nodata {
            meta.push(("dem.nodata".to_string(), n.to_string()));
        }
    }
    let mut txn = ds.start_transaction().map_err(|e| {
        IoError::file(
            &at,
            format!(
                "cannot start a transaction / không mở được giao dịch: {}",
                why(e)
            ),
        )
    })?;
    let text_reals = gpkg::write_tables(city, &mut txn, &at, &layer_opts, meta, true)?;
    // Reals went in as their exact decimal text; PostgreSQL parses each back to the same
    // double (and prints doubles exactly), so the columns become float8 losing nothing.
    for (table, column) in text_reals {
        let col = format!("\"{}\"", column.replace('"', "\"\""));
        sql(
            &txn,
            &format!("ALTER TABLE {table} ALTER COLUMN {col} TYPE float8 USING {col}::float8"),
            &at,
        )
        .map_err(|e| {
            IoError::format(
                &at,
                format!("table {table}, field '{column}'"),
                format!("cannot store as double precision / không lưu được dạng số thực: {e}"),
            )
        })?;
    }
    let rows = city.dem.iter().flat_map(|d| {
        d.data.chunks(d.nx.max(1)).enumerate().map(|(r, cells)| {
            vec![
                FieldValue::Integer64Value(r as i64),
                FieldValue::RealListValue(cells.iter().map(|&z| z as f64).collect()),
            ]
        })
    });
    gpkg::write_table(
        &mut txn,
        DEM_TABLE,
        &[
            ("row", OGRFieldType::OFTInteger64),
            ("z", OGRFieldType::OFTRealList),
        ],
        rows,
        &layer_opts,
        &at,
    )?;
    txn.commit().map_err(|e| {
        IoError::file(
            &at,
            format!(
                "commit failed, nothing was written / ghi thất bại, không có gì được lưu: {}",
                why(e)
            ),
        )
    })?;
    Ok(target)
}

/// Reads a city written by [`push_city`] from `conn` (`PG:…`, `active_schema=` for a schema
/// other than `public`): the city [`crate::gpkg::read_city`] reads from the same city's
/// GeoPackage, DEM included.
pub fn read_city(conn: &str) -> Result<City> {
    let at = label(conn);
    let ds = connect(conn, false)?;
    if ds.layer_by_name(gpkg::META).is_err() {
        return Err(IoError::file(
            &at,
            format!(
                "no city here (no table {}): push one with `twin city push C.gpkg --to PG:…` / \
                 không có thành phố nào ở đây: đẩy lên bằng `twin city push`",
                gpkg::META
            ),
        ));
    }
    let db = pairs(conn)
        .into_iter()
        .find(|(k, _)| k == "dbname")
        .map_or_else(|| "city".to_string(), |(_, v)| v);
    let (mut city, meta) = gpkg::read_tables(&ds, &at, &db)?;
    city.dem = read_dem(&ds, &meta, &at)?;
    Ok(city)
}

fn read_dem(
    ds: &Dataset,
    meta: &std::collections::BTreeMap<String, String>,
    at: &Path,
) -> Result<Option<Raster>> {
    let Some(nx) = meta.get("dem.nx") else {
        return Ok(None);
    };
    let bad =
        |what: &str, why: String| IoError::format(at, format!("table {DEM_TABLE}, {what}"), why);
    let num = |k: &str| -> Result<f64> {
        meta.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| {
                bad(
                    &format!("metadata '{k}'"),
                    "missing or not a number / thiếu hoặc không phải số".into(),
                )
            })
    };
    let nx: usize = nx.parse().map_err(|_| {
        bad(
            "metadata 'dem.nx'",
            format!("'{nx}' is not a count / không phải số đếm"),
        )
    })?;
    let ny = num("dem.ny")?;
    if !(ny >= 0.0 && ny.fract() == 0.0 && ny < 1e9 && nx < 1_000_000_000) {
        return Err(bad(
            "metadata 'dem.ny'",
            format!("{ny} is not a count / không phải số đếm"),
        ));
    }
    let ny = ny as usize;
    let nodata = match meta.get("dem.nodata") {
        None => None,
        Some(v) => Some(v.parse::<f32>().map_err(|_| {
            bad(
                "metadata 'dem.nodata'",
                format!("'{v}' is not a number / không phải số"),
            )
        })?),
    };
    let mut data = vec![f32::NAN; nx * ny];
    let mut seen = vec![false; ny];
    for r in gpkg::read_rows(ds, DEM_TABLE, at)? {
        let row = match r.first() {
            Some(Some(FieldValue::Integer64Value(i))) => *i,
            Some(Some(FieldValue::IntegerValue(i))) => *i as i64,
            _ => return Err(bad("a row", "no row number / thiếu số hàng".into())),
        };
        let Some(i) = usize::try_from(row).ok().filter(|&i| i < ny) else {
            return Err(bad(
                &format!("row {row}"),
                format!("outside 0..{ny} / ngoài 0..{ny}"),
            ));
        };
        let cells = match r.get(1) {
            Some(Some(FieldValue::RealListValue(v))) => v.clone(),
            Some(Some(FieldValue::IntegerListValue(v))) => v.iter().map(|&x| x as f64).collect(),
            Some(Some(FieldValue::Integer64ListValue(v))) => v.iter().map(|&x| x as f64).collect(),
            _ => Vec::new(),
        };
        if cells.len() != nx {
            return Err(bad(
                &format!("row {row}, field 'z'"),
                format!(
                    "{} cells instead of {nx} / {} ô thay vì {nx}",
                    cells.len(),
                    cells.len()
                ),
            ));
        }
        for (d, z) in data[i * nx..(i + 1) * nx].iter_mut().zip(cells) {
            *d = z as f32;
        }
        seen[i] = true;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(bad(&format!("row {missing}"), "missing / bị thiếu".into()));
    }
    Ok(Some(Raster {
        nx,
        ny,
        x0: num("dem.x0")?,
        y0: num("dem.y0")?,
        cell: num("dem.cell")?,
        data,
        nodata,
    }))
}

/// Reads the city in a store: a GeoPackage path, or a `PG:` connection string (a PostGIS
/// database written by [`push_city`]).
pub fn open_city(store: &Path) -> Result<City> {
    match store.to_str() {
        Some(s) if is_pg(s) => read_city(s),
        _ => gpkg::read_city(store),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_parse_redact_and_take_a_schema() {
        let c = "PG:host=127.0.0.1  port=5432 dbname='my city' user=twin password=s3cr'et";
        assert!(is_pg(c) && is_pg("pg:dbname=x") && !is_pg("city.gpkg") && !is_pg("PG"));
        let p = pairs(c);
        assert_eq!(p[2], ("dbname".to_string(), "my city".to_string()));
        assert_eq!(p[4], ("password".to_string(), "s3cr'et".to_string()));
        let r = redact(c);
        assert_eq!(
            r,
            "PG:host=127.0.0.1 port=5432 dbname='my city' user=twin password=***"
        );
        assert!(!r.contains("s3cr"));
        assert_eq!(
            with_schema(c, "ward_1"),
            "PG:host=127.0.0.1 port=5432 dbname='my city' user=twin password='s3cr\\'et' active_schema=ward_1"
        );
        assert_eq!(pairs(&with_schema(c, "ward_1"))[4].1, "s3cr'et");
        assert_eq!(
            with_schema("PG:dbname=x active_schema=a", "public"),
            "PG:dbname=x"
        );
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        let at = Path::new("PG:dbname=x");
        for ok in ["public", "ward_1", "_x"] {
            assert!(check_schema(ok, at).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1ward",
            "Ward",
            "a;drop table x",
            "a b",
            &"a".repeat(64),
        ] {
            let e = check_schema(bad, at).unwrap_err().to_string();
            assert!(e.contains("lược đồ"), "{e}");
        }
    }

    #[test]
    fn an_unreachable_database_is_named_without_its_password() {
        // Port 1 on loopback: nothing listens there.
        let c = "PG:host=127.0.0.1 port=1 dbname=twin user=twin password=hunter2 connect_timeout=2";
        let e = read_city(c).unwrap_err().to_string();
        assert!(
            e.starts_with("PG:host=127.0.0.1 port=1 dbname=twin user=twin password=***"),
            "{e}"
        );
        assert!(
            e.contains("cannot connect") && e.contains("không kết nối được"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
        let e = push_city(
            &City::new("x", twin_model::Crs::VN2000_UTM48N),
            c,
            &Default::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("cannot connect") && !e.contains("hunter2"),
            "{e}"
        );
    }
}
