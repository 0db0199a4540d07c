//! Request counts, latencies and features served, as Prometheus text.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the latency histogram's buckets, s.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Hist {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Hist>,
    features: u64,
}

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counts one answered request on a route (the route pattern, not the path, so labels
    /// stay few).
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *m.requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let h = m.latency.entry(route.to_string()).or_default();
        for (c, le) in h.counts.iter_mut().zip(BUCKETS) {
            if seconds <= le {
                *c += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// Counts features sent.
    pub fn features(&self, n: usize) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .features += n as u64;
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut s = String::new();
        s.push_str(
            "# HELP twin_http_requests_total HTTP requests answered, by route and status.\n",
        );
        s.push_str("# TYPE twin_http_requests_total counter\n");
        for ((route, method, status), n) in &m.requests {
            let _ = writeln!(
                s,
                "twin_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                esc(route),
                esc(method)
            );
        }
        s.push_str("# HELP twin_http_request_duration_seconds Time to answer, by route.\n");
        s.push_str("# TYPE twin_http_request_duration_seconds histogram\n");
        for (route, h) in &m.latency {
            let r = esc(route);
            for (c, le) in h.counts.iter().zip(BUCKETS) {
                let _ = writeln!(
                    s,
                    "twin_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{le}\"}} {c}"
                );
            }
            let _ = writeln!(
                s,
                "twin_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                s,
                "twin_http_request_duration_seconds_sum{{route=\"{r}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                s,
                "twin_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                h.count
            );
        }
        s.push_str("# HELP twin_features_served_total Features sent in answers.\n");
        s.push_str("# TYPE twin_features_served_total counter\n");
        let _ = writeln!(s, "twin_features_served_total {}", m.features);
        s
    }
}
