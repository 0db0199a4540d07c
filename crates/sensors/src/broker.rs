//! A private mosquitto broker on a free loopback port, for tests, benches and demos: started
//! with its own configuration in a temporary folder, stopped (killed and reaped) when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running broker.
pub struct Broker {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

/// Where mosquitto is (`PATH`, then `/usr/sbin`, where Debian puts it), if installed.
pub fn mosquitto_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("mosquitto"))
        .find(|p| p.is_file())
}

impl Broker {
    /// Starts mosquitto on a free loopback port and waits until it takes connections.
    pub fn start() -> Result<Broker, String> {
        let exe = mosquitto_path()
            .ok_or("mosquitto is not installed (Debian: apt-get install mosquitto)")?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir =
            std::env::temp_dir().join(format!("twin-mosquitto-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
                 max_queued_messages 1000000\nmax_inflight_messages 0\nlog_dest none\n"
            ),
        )
        .map_err(|e| format!("{}: {e}", conf.display()))?;
        let child = Command::new(&exe)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        let mut b = Broker { child, port, dir };
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(st)) = b.child.try_wait() {
                return Err(format!("mosquitto exited at start: {st}"));
            }
            if t0.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "mosquitto did not listen on port {port} within 10 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(b)
    }

    /// `mqtt://127.0.0.1:PORT/TOPIC`.
    pub fn url(&self, topic: &str) -> String {
        format!("mqtt://127.0.0.1:{}/{topic}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts a broker for a test: `Ok(None)` (the test skips, saying so) when mosquitto is not
/// installed outside CI; under CI (`CI` set) a missing broker is an error, so nothing passes
/// silently there.
pub fn for_test() -> Result<Option<Broker>, String> {
    if mosquitto_path().is_none() && std::env::var_os("CI").is_none() {
        eprintln!(
            "SKIPPED: mosquitto is not installed (scripts/setup.sh installs it; under CI this fails)"
        );
        return Ok(None);
    }
    Broker::start().map(Some)
}
