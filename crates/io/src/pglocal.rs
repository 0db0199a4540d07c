//! A throwaway PostgreSQL + PostGIS for tests: its own cluster in a temporary folder,
//! listening on a free loopback port, stopped and removed when dropped (also when a test
//! fails). Never assumes a server is already running.
//!
//! The Debian packages `postgresql` and `postgresql-15-postgis-3` provide it
//! (`scripts/setup.sh` installs them). PostgreSQL refuses to run as root: as root the server
//! runs as the `postgres` user the package creates (`runuser -u postgres`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running test cluster: database `twin` with PostGIS, `plain` without, user `twin`
/// (trust authentication on loopback only).
pub struct LocalPg {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    /// The port on 127.0.0.1.
    pub port: u16,
}

/// The newest installed PostgreSQL's `bin` folder that has PostGIS, if any.
fn installation() -> Option<PathBuf> {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    versions.into_iter().rev().find_map(|v| {
        let bin = PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"));
        let postgis = format!("/usr/share/postgresql/{v}/extension/postgis.control");
        (bin.join("initdb").is_file()
            && bin.join("pg_ctl").is_file()
            && Path::new(&postgis).is_file())
        .then_some(bin)
    })
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

impl LocalPg {
    /// Starts one for a test: `Ok(None)` (the test skips, saying so) when PostgreSQL or PostGIS
    /// is not installed outside CI; under CI (`CI` set) their absence is an error, so nothing
    /// passes silently there.
    pub fn for_test() -> Result<Option<LocalPg>, String> {
        match installation() {
            Some(bin) => LocalPg::start(bin).map(Some),
            None if std::env::var_os("CI").is_none() => {
                eprintln!(
                    "SKIPPED: PostgreSQL with PostGIS is not installed (scripts/setup.sh installs \
                     postgresql and postgresql-15-postgis-3; under CI this fails)"
                );
                Ok(None)
            }
            None => Err(
                "PostgreSQL with PostGIS is not installed (/usr/lib/postgresql/*/bin and \
                 postgis.control), and CI must run this test: run scripts/setup.sh"
                    .into(),
            ),
        }
    }

    fn start(bin: PathBuf) -> Result<LocalPg, String> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "twin-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let as_postgres = is_root();
        // The guard exists from here on, so a failure below still removes the folder.
        let mut pg = LocalPg {
            dir,
            bin,
            as_postgres,
            port: 0,
        };
        if as_postgres {
            let o = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&pg.dir)
                .output()
                .map_err(|e| format!("chown: {e}"))?;
            if !o.status.success() {
                return Err(format!(
                    "cannot give {} to the postgres user: {}",
                    pg.dir.display(),
                    text(&o)
                ));
            }
        }
        let data = pg.dir.join("data");
        pg.server_cmd(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "twin",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        pg.port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c full_page_writes=off",
            pg.port,
            pg.dir.display()
        );
        pg.server_cmd(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-o",
                &opts,
                "-l",
                &pg.dir.join("server.log").to_string_lossy(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        pg.psql("postgres", "CREATE DATABASE twin")?;
        pg.psql("postgres", "CREATE DATABASE plain")?;
        pg.psql("twin", "CREATE EXTENSION postgis")?;
        Ok(pg)
    }

    /// Runs a server program (`initdb`, `pg_ctl`), as `postgres` when we are root.
    fn server_cmd(&self, prog: &str, args: &[&str]) -> Result<(), String> {
        let exe = self.bin.join(prog);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let o = c
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        if o.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            Err(format!("{prog} {}: {}\n{log}", args.join(" "), text(&o)))
        }
    }

    /// Runs SQL in `db` through `psql` (stops at the first error).
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let o = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "twin",
                "-d",
                db,
                "-c",
                sql,
            ])
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if o.status.success() {
            Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
        } else {
            Err(format!("psql -d {db} -c {sql:?}: {}", text(&o)))
        }
    }

    /// How many tables `schema` of `db` holds.
    pub fn table_count(&self, db: &str, schema: &str) -> Result<usize, String> {
        let n = self.psql(
            db,
            &format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{}'",
                schema.replace('\'', "''")
            ),
        )?;
        n.parse().map_err(|e| format!("table count '{n}': {e}"))
    }

    /// GDAL's connection string for `db`.
    pub fn conn(&self, db: &str) -> String {
        format!("PG:host=127.0.0.1 port={} dbname={db} user=twin", self.port)
    }
}

impl Drop for LocalPg {
    fn drop(&mut self) {
        if self.port != 0 {
            let data = self.dir.join("data");
            let _ = self.server_cmd(
                "pg_ctl",
                &[
                    "-D",
                    &data.to_string_lossy(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
