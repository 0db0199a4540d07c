//! Garbage that used to be taken with exit 0 is refused or warned about by name; a byte-order
//! mark and CRLF line ends give the same results as without; absurd sizes are refused before a
//! run starts; `hydro run` and `traffic run` write their folders whole.

mod common;
use common::s;
use common::{stderr, twin};

use std::path::Path;
use std::time::{Duration, Instant};

const MODEL: &str = include_str!("../../hydro/tests/data/simple_dw.inp");

fn hydro_run(dir: &Path, name: &str, text: &str) -> (std::process::Output, std::path::PathBuf) {
    let inp = dir.join(format!("{name}.inp"));
    std::fs::write(&inp, text).unwrap();
    let out = dir.join(format!("{name}-out"));
    (twin(&["hydro", "run", s(&inp), "--out", s(&out)]), out)
}

#[test]
fn a_swmm_model_with_a_byte_order_mark_and_crlf_gives_the_same_results() {
    let d = tempfile::tempdir().unwrap();
    let (o, plain) = hydro_run(d.path(), "plain", MODEL);
    assert!(o.status.success(), "{}", stderr(&o));
    let windows = format!("\u{feff}{}", MODEL.replace('\n', "\r\n"));
    let (o, bom) = hydro_run(d.path(), "bom", &windows);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["nodes.csv", "links.csv"] {
        let a = std::fs::read(plain.join(f)).unwrap();
        assert!(a.len() > 1000, "{f}: {} bytes", a.len());
        assert_eq!(a, std::fs::read(bom.join(f)).unwrap(), "{f}");
    }
    // The folder is a whole run: its manifest lists the files.
    let m = std::fs::read_to_string(plain.join("manifest.json")).unwrap();
    assert!(
        m.contains("twin hydro run") && m.contains("nodes.csv"),
        "{m}"
    );
}

#[test]
fn swmm_garbage_is_refused_naming_section_line_and_name() {
    let d = tempfile::tempdir().unwrap();
    for (name, text, says) in [
        (
            "dup-node",
            MODEL.replace("OUT  96  FREE  NO", "J2  96  FREE  NO"),
            "[OUTFALLS] line 36: node 'J2' is already defined in [JUNCTIONS] at line 31",
        ),
        (
            "dup-link",
            MODEL.replace("C4  J4  OUT", "c1  J4  OUT"),
            "link 'c1' is already defined in [CONDUITS] at line 39",
        ),
        (
            "zero-step",
            MODEL.replace("ROUTING_STEP         5", "ROUTING_STEP         0"),
            "ROUTING_STEP",
        ),
        (
            "zero-wet",
            MODEL.replace("WET_STEP             00:05:00", "WET_STEP 00:00:00"),
            "WET_STEP",
        ),
    ] {
        let (o, out) = hydro_run(d.path(), name, &text);
        assert!(!o.status.success(), "{name} was accepted");
        let e = stderr(&o);
        assert!(e.contains(says), "{name}: {e}");
        assert!(e.contains(&format!("{name}.inp")), "{name}: {e}");
        assert!(!out.exists(), "{name}: a refused run leaves no folder");
    }
    assert!(
        std::fs::read_dir(d.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.')),
        "hidden partial folders left behind"
    );
}

#[test]
fn a_swmm_run_too_long_for_memory_is_refused_before_it_starts() {
    let d = tempfile::tempdir().unwrap();
    let text = MODEL.replace(
        "END_DATE             01/01/2020",
        "END_DATE             12/31/9999",
    );
    let t = Instant::now();
    let (o, out) = hydro_run(d.path(), "long", &text);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("more than the") && e.contains("REPORT_STEP"),
        "{e}"
    );
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(!out.exists());
}

const NET: &str = r#"<net>
  <edge id="a" from="n1" to="n2"><lane id="a_0" index="0" speed="13.9" length="200"/></edge>
  <edge id="b" from="n2" to="n3"><lane id="b_0" index="0" speed="13.9" length="200"/></edge>
  <junction id="n1" type="dead_end" x="0" y="0"/>
  <junction id="n2" type="priority" x="200" y="0" incLanes="a_0"/>
  <junction id="n3" type="dead_end" x="400" y="0"/>
  <connection from="a" to="b" fromLane="0" toLane="0"/>
</net>"#;

const ROUTES: &str = r#"<routes>
  <vehicle id="v0" depart="0"><route edges="a b"/></vehicle>
  <flow id="f" begin="0" end="60" period="10" from="a" to="b"/>
</routes>"#;

fn traffic(
    dir: &Path,
    name: &str,
    net: &str,
    routes: &str,
    extra: &[&str],
) -> std::process::Output {
    let n = dir.join(format!("{name}.net.xml"));
    let r = dir.join(format!("{name}.rou.xml"));
    std::fs::write(&n, net).unwrap();
    std::fs::write(&r, routes).unwrap();
    let out = dir.join(format!("{name}-out"));
    let mut args = vec![
        "traffic",
        "run",
        "--net",
        s(&n),
        "--routes",
        s(&r),
        "--out",
        s(&out),
    ];
    args.extend_from_slice(extra);
    twin(&args)
}

#[test]
fn sumo_garbage_and_absurd_sizes_are_refused_at_once() {
    let d = tempfile::tempdir().unwrap();
    let o = traffic(d.path(), "good", NET, ROUTES, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.path().join("good-out/manifest.json").is_file());
    let flow_far = ROUTES.replace(
        r#"end="60" period="10""#,
        r#"end="2678400" period="0.0001""#,
    );
    for (name, net, routes, extra, says) in [
        (
            "dup-edge",
            NET.replace(r#"<edge id="b""#, r#"<edge id="a""#),
            ROUTES.to_string(),
            &[][..],
            "edge \"a\" is already defined at line 2",
        ),
        (
            "speed-zero",
            NET.replace(
                r#"speed="13.9" length="200"/></edge>
  <edge id="b""#,
                r#"speed="0" length="200"/></edge>
  <edge id="b""#,
            ),
            ROUTES.to_string(),
            &[],
            "speed",
        ),
        (
            "length-huge",
            NET.replace(r#"length="200""#, r#"length="1e308""#),
            ROUTES.to_string(),
            &[],
            "at most 100000 m",
        ),
        (
            "depart-huge",
            NET.to_string(),
            ROUTES.replace(r#"depart="0""#, r#"depart="1e308""#),
            &[],
            "beyond the 2678400 s (31-day) limit",
        ),
        (
            "dup-vehicle",
            NET.to_string(),
            ROUTES.replace(r#"id="f""#, r#"id="v0""#),
            &[],
            "\"v0\" is already the id of a vehicle, trip or flow at line 2",
        ),
        (
            "flow-billions",
            NET.to_string(),
            flow_far,
            &[],
            "over the limit of 4000000",
        ),
        (
            "end-nan",
            NET.to_string(),
            ROUTES.to_string(),
            &["--end", "NaN"],
            "--end must be",
        ),
    ] {
        let t = Instant::now();
        let o = traffic(d.path(), name, &net, &routes, extra);
        assert!(!o.status.success(), "{name} was accepted");
        let e = stderr(&o);
        assert!(e.contains(says), "{name}: {e}");
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{name}: {:?}",
            t.elapsed()
        );
        assert!(!d.path().join(format!("{name}-out")).exists(), "{name}");
    }
    // A connection to an edge the file lacks is skipped with a warning that names it.
    let o = traffic(
        d.path(),
        "unknown-edge",
        &NET.replace(
            "</net>",
            r#"<connection from="b" to="zz" fromLane="0" toLane="0"/></net>"#,
        ),
        ROUTES,
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(
            "1 connection names an edge the file does not define: skipped (b -> zz (line 8))"
        ),
        "{e}"
    );
}
