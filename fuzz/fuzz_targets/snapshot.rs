//! Sensor snapshots (native JSON, arrays, NDJSON, SensorThings Observations) as every ingest
//! path (MQTT payloads, stdin lines, watched-folder files) hands them to the parser, then QC
//! over a small registry: neither may panic, whatever comes in.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use twin_sensors::qc::{Clock, NoModel, Qc, QcConfig};

fn registry() -> &'static twin_sensors::Registry {
    static R: OnceLock<twin_sensors::Registry> = OnceLock::new();
    R.get_or_init(|| {
        twin_sensors::Registry::from_toml(
            "[[sensor]]\nid = \"a\"\nkind = \"water_level\"\nsite = \"street\"\nx = 0\ny = 0\n\
             [[sensor]]\nid = \"b\"\nkind = \"water_level\"\nsite = \"street\"\nx = 10\ny = 0\n\
             [[sensor]]\nid = \"c\"\nkind = \"water_level\"\nsite = \"street\"\nx = 0\ny = 10\n\
             [[sensor]]\nid = \"r\"\nkind = \"rain_gauge\"\nx = 0\ny = 0\ninterval_s = 300\ndatastream = \"7\"\n",
            std::path::Path::new("fuzz.toml"),
        )
        .expect("registry")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut qc = Qc::new(
        registry(),
        QcConfig {
            clock: Clock::Data,
            ..QcConfig::default()
        },
    );
    for r in twin_sensors::parse_message(data, 64 * 1024)
        .into_iter()
        .flatten()
    {
        let _ = qc.push(r, &NoModel);
    }
    let _ = qc.flush();
});
