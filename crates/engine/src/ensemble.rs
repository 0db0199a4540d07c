//! Ensembles of a scenario: the same scenario run as `N` members, each with its rain scaled
//! and shifted in time and its own traffic seed, summarised as probabilities (per road, per
//! gauge, per cell) and each headline figure's median and 10–90 % range.
//!
//! The plan ([`member_plan`]) is a function of the [`EnsembleSpec`] alone: member 0 is the
//! control (the scenario as written: rain × 1, no shift, the spec's seed as the traffic
//! seed), members 1..N a Latin hypercube over the rain scale and the shift (each of the two
//! ranges cut into `N − 1` equal strata, each stratum used by exactly one member, a uniform
//! point inside it), with their own traffic seeds. All draws come from one SplitMix64 stream
//! (Steele, Lea and Flood 2014) seeded by [`EnsembleSpec::seed`], in a fixed order, so the plan
//! is the same on any machine and thread count.
//!
//! A member's results are reduced to a [`MemberOutcome`] (serialisable, so outcomes can cross
//! processes), and [`summarize`] turns outcomes into an [`EnsembleSummary`]. Outcomes are put in
//! member order before they are summarised: the summary does not depend on the order in which
//! members ran, nor on how many threads or processes ran them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::scenario::{ScenarioError, ScenarioResult, ScenarioSpec};
use twin_model::{City, FeatureId};

/// Most members an ensemble may have.
pub const MAX_MEMBERS: usize = 256;

/// Depth that counts for the probabilities, m: the depth at which roads close (Pregnolato et
/// al. 2017) and water "affects traffic" in the drainage operator's classes.
pub const DEPTH_M: f64 = 0.3;

/// How an ensemble perturbs its scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleSpec {
    /// Members, 1..=[`MAX_MEMBERS`] (member 0 the control).
    pub members: usize,
    /// Range of the factor on the rain intensities, `(low, high)`, 0 < low ≤ high ≤ 5.
    pub rain_scale: (f64, f64),
    /// Members' rain starts lie within ± this many minutes of the scenario's, 0..=720.
    pub shift_min: f64,
    /// Seed of the plan; the control's traffic seed.
    pub seed: u64,
}

impl Default for EnsembleSpec {
    fn default() -> Self {
        EnsembleSpec {
            members: 8,
            rain_scale: (0.8, 1.2),
            shift_min: 30.0,
            seed: 1,
        }
    }
}

/// Errors of an ensemble.
#[derive(Debug, thiserror::Error)]
pub enum EnsembleError {
    /// A setting out of range.
    #[error("{0}")]
    Spec(String),
    /// A member's scenario could not be set up.
    #[error("member {index}: {message}")]
    Setup {
        /// Member index.
        index: usize,
        /// What went wrong.
        message: String,
    },
    /// A member's run failed.
    #[error("member {index}: {source}")]
    Run {
        /// Member index.
        index: usize,
        /// The scenario's error.
        #[source]
        source: ScenarioError,
    },
    /// Outcomes that do not belong to one ensemble.
    #[error("outcomes: {0}")]
    Outcomes(String),
}

impl EnsembleSpec {
    /// Checks the settings: members in 1..=[`MAX_MEMBERS`], a rain scale range in (0, 5] with
    /// low ≤ high, a shift in 0..=720 minutes.
    pub fn validate(&self) -> Result<(), EnsembleError> {
        let bad = |m: String| Err(EnsembleError::Spec(m));
        if !(1..=MAX_MEMBERS).contains(&self.members) {
            return bad(format!(
                "an ensemble has 1 to {MAX_MEMBERS} members, got {}",
                self.members
            ));
        }
        let (lo, hi) = self.rain_scale;
        if !(lo > 0.0 && lo <= hi && hi <= 5.0) {
            return bad(format!(
                "the rain scale range must satisfy 0 < low ≤ high ≤ 5, got {lo} to {hi}"
            ));
        }
        if !(0.0..=720.0).contains(&self.shift_min) {
            return bad(format!(
                "the rain's shift must lie in 0..720 minutes, got {}",
                self.shift_min
            ));
        }
        Ok(())
    }

    /// Checks that every member of the plan can run the scenario: the rain's start, shifted
    /// either way, stays within the day.
    pub fn check_scenario(&self, spec: &ScenarioSpec) -> Result<(), EnsembleError> {
        self.validate()?;
        let (from, to) = (
            spec.rain_start_min - self.shift_min,
            spec.rain_start_min + self.shift_min,
        );
        if from < 0.0 || to >= 24.0 * 60.0 {
            return Err(EnsembleError::Spec(format!(
                "the rain starts at minute {} of the day; shifted by ± {} min it would leave the day (00:00–23:59): use a smaller shift",
                spec.rain_start_min, self.shift_min
            )));
        }
        Ok(())
    }
}

/// One member of an ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Index, 0..N (0 the control).
    pub index: usize,
    /// Factor on the rain intensities.
    pub rain_scale: f64,
    /// Minutes added to the rain's start (negative: earlier).
    pub shift_min: f64,
    /// Seed of the member's traffic (demand and simulation).
    pub traffic_seed: u64,
}

/// SplitMix64: a 64-bit state advanced by the golden-ratio increment and mixed (Steele, Lea and
/// Flood 2014, the generator `java.util.SplittableRandom` uses).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..n (n > 0), by rejection so that no value is favoured.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// A random permutation of 0..n (Fisher–Yates).
    fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i as u64 + 1) as usize;
            p.swap(i, j);
        }
        p
    }
}

/// The members of an ensemble (see the module docs): member 0 the control, the others a Latin
/// hypercube over the rain scale and the shift. Draws, in order: the scale's permutation of
/// strata, the shift's, then for each perturbed member its point within its scale stratum,
/// within its shift stratum, and its traffic seed.
pub fn member_plan(spec: &EnsembleSpec) -> Vec<Member> {
    let mut out = vec![Member {
        index: 0,
        rain_scale: 1.0,
        shift_min: 0.0,
        traffic_seed: spec.seed,
    }];
    let k = spec.members.saturating_sub(1);
    if k == 0 {
        return out;
    }
    let mut rng = SplitMix64(spec.seed);
    let scale_strata = rng.permutation(k);
    let shift_strata = rng.permutation(k);
    let (lo, hi) = spec.rain_scale;
    let (s_lo, s_hi) = (-spec.shift_min, spec.shift_min);
    for i in 0..k {
        let u_scale = rng.next_f64();
        let u_shift = rng.next_f64();
        let traffic_seed = rng.next_u64();
        let at = |stratum: usize, u: f64, a: f64, b: f64| {
            // Clamped so round-off never leaves the range.
            (a + (stratum as f64 + u) / k as f64 * (b - a)).clamp(a, b)
        };
        out.push(Member {
            index: i + 1,
            rain_scale: at(scale_strata[i], u_scale, lo, hi),
            shift_min: at(shift_strata[i], u_shift, s_lo, s_hi),
            traffic_seed,
        });
    }
    out
}

/// The scenario a member runs: rain intensities times its scale (the per-cell rain map, a
/// multiplier, unchanged), the rain's start moved by its shift on the traffic clock, and its
/// traffic seed for the demand and the simulation. The scenario's own road closures keep their
/// clock times. A coupled network's clock-timed controls (a pump starting late, the river's
/// stage) were placed relative to the unshifted rain: a caller whose network carries them
/// rebuilds it for the member's rain start (the CLI does).
pub fn perturb(spec: &ScenarioSpec, m: &Member) -> ScenarioSpec {
    let mut s = spec.clone();
    for (_, mm_h) in &mut s.storm.flood.rain {
        *mm_h *= m.rain_scale;
    }
    s.rain_start_min += m.shift_min;
    s.traffic.peak.seed = m.traffic_seed;
    s.traffic.sim.seed = m.traffic_seed;
    s
}

/// A road's worst water in one member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoadOutcome {
    /// Road feature id.
    pub feature: FeatureId,
    /// Road name, if any.
    pub name: Option<String>,
    /// Deepest water along it, m.
    pub max_depth_m: f64,
    /// Closed by the water (its flooded speed 0).
    pub closed: bool,
}

/// A gauge's peak in one member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaugeOutcome {
    /// Gauge (hotspot or sensor) name.
    pub gauge: String,
    /// Deepest water, m.
    pub peak_depth_m: f64,
    /// Highest rise over the water at the start, m (a sensor in a lake reads water from the
    /// start: its rise is what counts, as for the alerts).
    pub peak_rise_m: f64,
}

/// A headline figure of one member (`None` where the run has none, e.g. no vehicle left a
/// link in the peak hour).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpi {
    /// Key, as in `summary.json` (pairs `[without, with]` as `.flooded`; reach as
    /// `reach.KIND.beyond_during`).
    pub key: String,
    /// Value.
    pub value: Option<f64>,
}

/// What an ensemble keeps of one member's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberOutcome {
    /// The member.
    pub member: Member,
    /// Every road with water (depth > 1 cm), by feature id.
    pub roads: Vec<RoadOutcome>,
    /// Every gauge, in the run's order.
    pub gauges: Vec<GaugeOutcome>,
    /// Grid size (columns, rows) of the depth raster.
    pub grid: (usize, usize),
    /// Cells (row-major indices, ascending) whose maximum depth reached [`DEPTH_M`].
    pub wet_cells: Vec<u32>,
    /// Headline figures, in a fixed order.
    pub kpis: Vec<Kpi>,
    /// Wall time of the member's run, s (not part of the results).
    pub wall_s: f64,
}

/// The headline figures kept per member, as `summary.json` keys (reach added per service).
pub const KPI_KEYS: [&str; 11] = [
    "max_depth_m",
    "flooded_area_m2.ge_0.1_m",
    "flooded_area_m2.ge_0.3_m",
    "residents.ge_0.3_m",
    "roads_closed",
    "links_closed",
    "stranded",
    "delay_vehicle_hours",
    "mean_trip_s.flooded",
    "peak_hour_speed_kmh.flooded",
    "services_reached",
];

/// A member's run reduced to its outcome (figures from [`ScenarioResult::summary_json`]).
pub fn outcome(result: &ScenarioResult, member: &Member, wall_s: f64) -> MemberOutcome {
    let mut roads: Vec<RoadOutcome> = result
        .storm
        .impacts
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|r| RoadOutcome {
            feature: r.feature,
            name: r.name.clone(),
            max_depth_m: r.max_depth_m,
            closed: r.flooded_kmh <= 0.0,
        })
        .collect();
    roads.sort_by_key(|r| r.feature);
    let gauges = result
        .storm
        .gauges
        .iter()
        .map(|g| {
            let base = g.depths_m.first().copied().unwrap_or(0.0);
            let peak = g.depths_m.iter().copied().fold(0.0f64, f64::max);
            GaugeOutcome {
                gauge: g.gauge.name.clone(),
                peak_depth_m: peak,
                peak_rise_m: (peak - base).max(0.0),
            }
        })
        .collect();
    let depth = &result.storm.rasters.max_depth;
    let wet_cells = depth
        .data
        .iter()
        .enumerate()
        .filter(|(_, v)| !depth.is_nodata(**v) && v.is_finite() && **v as f64 >= DEPTH_M)
        .map(|(k, _)| k as u32)
        .collect();
    let summary = result.summary_json();
    let leaves = crate::compare::numeric_leaves(&summary);
    let mut kpis: Vec<Kpi> = KPI_KEYS
        .iter()
        .map(|k| Kpi {
            key: k.to_string(),
            value: leaves.get(*k).copied(),
        })
        .collect();
    for s in &result.reach.services {
        kpis.push(Kpi {
            key: format!("reach.{}.beyond_during", s.kind),
            value: Some(s.beyond_during),
        });
    }
    MemberOutcome {
        member: member.clone(),
        roads,
        gauges,
        grid: (depth.nx, depth.ny),
        wet_cells,
        kpis,
        wall_s,
    }
}

/// A road's probabilities over the members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoadProbability {
    /// Road feature id.
    pub feature: FeatureId,
    /// Road name, if any.
    pub name: Option<String>,
    /// Members in which its water reached [`DEPTH_M`].
    pub members_depth: usize,
    /// Members in which it closed.
    pub members_closed: usize,
    /// `members_depth / N`.
    pub p_depth: f64,
    /// `members_closed / N`.
    pub p_closed: f64,
    /// Median over all members of its deepest water (0 where it stayed dry), m.
    pub median_depth_m: f64,
}

/// A gauge's probability over the members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaugeProbability {
    /// Gauge name.
    pub gauge: String,
    /// Members in which its rise reached [`DEPTH_M`].
    pub members_rise: usize,
    /// `members_rise / N`.
    pub p_rise: f64,
    /// Median, 10th and 90th percentile of its peak rise, m.
    pub rise_m: [f64; 3],
}

/// A headline figure over the members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiStats {
    /// Key (see [`Kpi::key`]).
    pub key: String,
    /// Members with a value.
    pub members: usize,
    /// Median ([`percentile`] 0.5).
    pub median: Option<f64>,
    /// 10th percentile.
    pub p10: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// Smallest.
    pub min: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
}

/// An ensemble's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleSummary {
    /// Members summarised.
    pub members: usize,
    /// Every road wet in some member, by feature id.
    pub roads: Vec<RoadProbability>,
    /// Every gauge, in the runs' order.
    pub gauges: Vec<GaugeProbability>,
    /// Grid size (columns, rows).
    pub grid: (usize, usize),
    /// Per cell (row-major), the share of members whose maximum depth reached [`DEPTH_M`]
    /// (not serialised: written as a raster).
    #[serde(skip)]
    pub p_cells: Vec<f32>,
    /// Headline figures, in the members' order of keys.
    pub kpis: Vec<KpiStats>,
}

/// The `p`-quantile (0 ≤ p ≤ 1) of `values` by linear interpolation between order
/// statistics (Hyndman and Fan's type 7, the default of R and NumPy): with the values sorted
/// as x₀ ≤ … ≤ xₙ₋₁ and h = (n − 1)·p, x⌊h⌋ + (h − ⌊h⌋)(x⌊h⌋₊₁ − x⌊h⌋). `None` for no values.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
}

/// Probabilities and ranges over the members' outcomes, in member order whatever the order
/// given. Errors when no outcome is given, a member index repeats, or the grids differ.
pub fn summarize(outcomes: &[MemberOutcome]) -> Result<EnsembleSummary, EnsembleError> {
    let mut sorted: Vec<&MemberOutcome> = outcomes.iter().collect();
    sorted.sort_by_key(|o| o.member.index);
    let Some(first) = sorted.first() else {
        return Err(EnsembleError::Outcomes("no member outcome".into()));
    };
    if let Some(w) = sorted
        .windows(2)
        .find(|w| w[0].member.index == w[1].member.index)
    {
        return Err(EnsembleError::Outcomes(format!(
            "member {} appears twice",
            w[0].member.index
        )));
    }
    let grid = first.grid;
    if let Some(o) = sorted.iter().find(|o| o.grid != grid) {
        return Err(EnsembleError::Outcomes(format!(
            "member {} has a {} × {} grid, member {} one of {} × {}",
            o.member.index, o.grid.0, o.grid.1, first.member.index, grid.0, grid.1
        )));
    }
    let n = sorted.len();
    let share = |k: usize| k as f64 / n as f64;

    // Roads: (name, members ≥ DEPTH_M, members closed, depths of the members it was wet in).
    type RoadAcc = (Option<String>, usize, usize, Vec<f64>);
    let mut roads: BTreeMap<FeatureId, RoadAcc> = BTreeMap::new();
    for o in &sorted {
        for r in &o.roads {
            let e = roads
                .entry(r.feature)
                .or_insert_with(|| (r.name.clone(), 0, 0, Vec::new()));
            e.1 += usize::from(r.max_depth_m >= DEPTH_M);
            e.2 += usize::from(r.closed);
            e.3.push(r.max_depth_m);
        }
    }
    let roads = roads
        .into_iter()
        .map(|(feature, (name, wet, closed, mut depths))| {
            depths.resize(n, 0.0);
            RoadProbability {
                feature,
                name,
                members_depth: wet,
                members_closed: closed,
                p_depth: share(wet),
                p_closed: share(closed),
                median_depth_m: percentile(&depths, 0.5).unwrap_or(0.0),
            }
        })
        .collect();

    // Gauges, in the first member's order, then any others by name.
    let mut order: Vec<String> = Vec::new();
    let mut rises: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for o in &sorted {
        for g in &o.gauges {
            if !rises.contains_key(&g.gauge) {
                order.push(g.gauge.clone());
            }
            rises
                .entry(g.gauge.clone())
                .or_default()
                .push(g.peak_rise_m);
        }
    }
    let gauges = order
        .into_iter()
        .map(|name| {
            let mut v = rises.remove(&name).unwrap_or_default();
            v.resize(n, 0.0);
            let hits = v.iter().filter(|r| **r >= DEPTH_M).count();
            GaugeProbability {
                gauge: name,
                members_rise: hits,
                p_rise: share(hits),
                rise_m: [0.5, 0.1, 0.9].map(|p| percentile(&v, p).unwrap_or(0.0)),
            }
        })
        .collect();

    // Cells.
    let cells = grid.0 * grid.1;
    let mut counts = vec![0u32; cells];
    for o in &sorted {
        for &k in &o.wet_cells {
            let Some(c) = counts.get_mut(k as usize) else {
                return Err(EnsembleError::Outcomes(format!(
                    "member {}: cell {k} outside the {} × {} grid",
                    o.member.index, grid.0, grid.1
                )));
            };
            *c += 1;
        }
    }
    let p_cells = counts.iter().map(|c| share(*c as usize) as f32).collect();

    // Headline figures, keys in the first member's order.
    let mut keys: Vec<String> = Vec::new();
    for o in &sorted {
        for k in &o.kpis {
            if !keys.contains(&k.key) {
                keys.push(k.key.clone());
            }
        }
    }
    let kpis = keys
        .into_iter()
        .map(|key| {
            let v: Vec<f64> = sorted
                .iter()
                .filter_map(|o| o.kpis.iter().find(|k| k.key == key).and_then(|k| k.value))
                .filter(|x| x.is_finite())
                .collect();
            KpiStats {
                members: v.len(),
                median: percentile(&v, 0.5),
                p10: percentile(&v, 0.1),
                p90: percentile(&v, 0.9),
                min: percentile(&v, 0.0),
                max: percentile(&v, 1.0),
                key,
            }
        })
        .collect();
    Ok(EnsembleSummary {
        members: n,
        roads,
        gauges,
        grid,
        p_cells,
        kpis,
    })
}

/// Runs the members on `jobs` threads (at least 1), each taking the next member not yet taken,
/// and returns their outcomes in member order. `spec_of` gives a member's scenario;
/// `progress` is called with the number of members finished after each one. A failed member
/// stops the others from starting; the error returned is that of the lowest failed index.
/// The outcomes are the same whatever `jobs` (each run is deterministic and its own).
pub fn run_members<F>(
    city: &City,
    plan: &[Member],
    spec_of: F,
    jobs: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<MemberOutcome>, EnsembleError>
where
    F: Fn(&Member) -> Result<ScenarioSpec, EnsembleError> + Sync,
{
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Result<MemberOutcome, EnsembleError>)>> = Mutex::new(Vec::new());
    let work = || {
        loop {
            if failed.load(Ordering::SeqCst) {
                return;
            }
            let k = next.fetch_add(1, Ordering::SeqCst);
            let Some(m) = plan.get(k) else {
                return;
            };
            let start = std::time::Instant::now();
            let r = spec_of(m).and_then(|spec| {
                crate::scenario::run(city, &spec, &mut |_, _| {})
                    .map(|res| outcome(&res, m, start.elapsed().as_secs_f64()))
                    .map_err(|source| EnsembleError::Run {
                        index: m.index,
                        source,
                    })
            });
            if r.is_err() {
                failed.store(true, Ordering::SeqCst);
            }
            results
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((k, r));
            progress(done.fetch_add(1, Ordering::SeqCst) + 1);
        }
    };
    let jobs = jobs.clamp(1, plan.len().max(1));
    std::thread::scope(|s| {
        for _ in 1..jobs {
            s.spawn(work);
        }
        work();
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(k, _)| *k);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Runs an ensemble of `spec` on `jobs` threads: the plan of `ensemble`, each member's
/// scenario from [`perturb`]. Outcomes in member order, the same whatever `jobs`.
pub fn run_local(
    city: &City,
    spec: &ScenarioSpec,
    ensemble: &EnsembleSpec,
    jobs: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<MemberOutcome>, EnsembleError> {
    ensemble.check_scenario(spec)?;
    let plan = member_plan(ensemble);
    run_members(city, &plan, |m| Ok(perturb(spec, m)), jobs, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(index: usize) -> Member {
        Member {
            index,
            rain_scale: 1.0,
            shift_min: 0.0,
            traffic_seed: index as u64,
        }
    }

    fn road(id: i64, depth: f64, closed: bool) -> RoadOutcome {
        RoadOutcome {
            feature: FeatureId(id),
            name: Some(format!("road {id}")),
            max_depth_m: depth,
            closed,
        }
    }

    /// Hand-made outcomes: road 1 deep in members 0, 2, 3 and closed in 0 and 3; road 2 wet but
    /// shallow in 1 only; gauge "a" rising 0.5, 0.1, 0.3, 0.29; cell 0 wet in all, cell 3 in 2.
    fn outcomes() -> Vec<MemberOutcome> {
        let rises = [0.5, 0.1, 0.3, 0.29];
        (0..4)
            .map(|i| MemberOutcome {
                member: member(i),
                roads: match i {
                    0 => vec![road(1, 0.45, true)],
                    1 => vec![road(1, 0.12, false), road(2, 0.05, false)],
                    2 => vec![road(1, 0.30, false)],
                    _ => vec![road(1, 0.6, true)],
                },
                gauges: vec![GaugeOutcome {
                    gauge: "a".into(),
                    peak_depth_m: rises[i] + 1.0,
                    peak_rise_m: rises[i],
                }],
                grid: (2, 2),
                wet_cells: if i == 2 { vec![0, 3] } else { vec![0] },
                kpis: vec![
                    Kpi {
                        key: "x".into(),
                        value: Some(i as f64 * 10.0),
                    },
                    Kpi {
                        key: "y".into(),
                        value: (i != 1).then_some(1.0),
                    },
                ],
                wall_s: i as f64,
            })
            .collect()
    }

    #[test]
    fn probabilities_are_counts_of_members_over_the_member_count() {
        let o = outcomes();
        let s = summarize(&o).unwrap();
        assert_eq!(s.members, 4);
        // Counted here member by member.
        for r in &s.roads {
            let deep = o
                .iter()
                .filter(|m| {
                    m.roads
                        .iter()
                        .any(|x| x.feature == r.feature && x.max_depth_m >= DEPTH_M)
                })
                .count();
            let closed = o
                .iter()
                .filter(|m| m.roads.iter().any(|x| x.feature == r.feature && x.closed))
                .count();
            assert_eq!(r.p_depth, deep as f64 / 4.0, "{r:?}");
            assert_eq!(r.p_closed, closed as f64 / 4.0, "{r:?}");
        }
        assert_eq!(s.roads.len(), 2);
        assert_eq!((s.roads[0].p_depth, s.roads[0].p_closed), (0.75, 0.5));
        assert_eq!((s.roads[1].p_depth, s.roads[1].p_closed), (0.0, 0.0));
        // Road 2 dry in three members: its median depth is 0; road 1's of 0.12, 0.30, 0.45,
        // 0.6 is 0.375.
        assert_eq!(s.roads[1].median_depth_m, 0.0);
        assert!((s.roads[0].median_depth_m - 0.375).abs() < 1e-12);
        assert_eq!(s.gauges.len(), 1);
        assert_eq!(s.gauges[0].members_rise, 2);
        assert_eq!(s.gauges[0].p_rise, 0.5);
        assert_eq!(s.p_cells, vec![1.0, 0.0, 0.0, 0.25]);
        // A figure missing in a member is left out of its statistics.
        assert_eq!(s.kpis[1].members, 3);
        assert_eq!(s.kpis[0].median, Some(15.0));
        assert_eq!(s.kpis[0].min, Some(0.0));
        assert_eq!(s.kpis[0].max, Some(30.0));
    }

    #[test]
    fn the_summary_does_not_depend_on_the_order_members_finished_in() {
        let o = outcomes();
        let mut rev = o.clone();
        rev.reverse();
        rev.swap(0, 2);
        assert_eq!(summarize(&o).unwrap(), summarize(&rev).unwrap());
        // Outcomes round-trip through JSON (as they cross MPI) unchanged.
        let bytes = serde_json::to_vec(&o).unwrap();
        let back: Vec<MemberOutcome> = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, o);
        // Not one ensemble: refused.
        assert!(summarize(&[]).is_err());
        let mut twice = o.clone();
        twice[1].member.index = 0;
        assert!(summarize(&twice).unwrap_err().to_string().contains("twice"));
        let mut grid = o.clone();
        grid[3].grid = (3, 3);
        assert!(summarize(&grid).is_err());
        let mut cell = o;
        cell[0].wet_cells = vec![4];
        assert!(summarize(&cell).is_err());
    }

    #[test]
    fn percentiles_interpolate_between_order_statistics() {
        let v = [7.0, 1.0, 3.0, 5.0, 9.0];
        assert_eq!(percentile(&v, 0.5), Some(5.0));
        // h = 4 · 0.1 = 0.4: 1 + 0.4 · (3 − 1).
        assert!((percentile(&v, 0.1).unwrap() - 1.8).abs() < 1e-12);
        assert!((percentile(&v, 0.9).unwrap() - 8.2).abs() < 1e-12);
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 1.0), Some(9.0));
        // Ten values 1..10 (NumPy: 1.9, 5.5, 9.1).
        let t: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((percentile(&t, 0.1).unwrap() - 1.9).abs() < 1e-12);
        assert_eq!(percentile(&t, 0.5), Some(5.5));
        assert!((percentile(&t, 0.9).unwrap() - 9.1).abs() < 1e-12);
        assert_eq!(percentile(&[4.0], 0.9), Some(4.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn the_plan_is_deterministic_stratified_and_within_its_ranges() {
        let spec = EnsembleSpec {
            members: 9,
            seed: 42,
            ..Default::default()
        };
        let p = member_plan(&spec);
        assert_eq!(p, member_plan(&spec));
        assert_eq!(p.len(), 9);
        assert_eq!(
            p[0],
            Member {
                index: 0,
                rain_scale: 1.0,
                shift_min: 0.0,
                traffic_seed: 42
            }
        );
        assert!(p.iter().enumerate().all(|(i, m)| m.index == i));
        // Each of the 8 strata of each range holds exactly one perturbed member.
        let mut scale = [0; 8];
        let mut shift = [0; 8];
        for m in &p[1..] {
            assert!((0.8..=1.2).contains(&m.rain_scale), "{m:?}");
            assert!((-30.0..=30.0).contains(&m.shift_min), "{m:?}");
            scale[(((m.rain_scale - 0.8) / 0.4 * 8.0) as usize).min(7)] += 1;
            shift[(((m.shift_min + 30.0) / 60.0 * 8.0) as usize).min(7)] += 1;
        }
        assert_eq!(scale, [1; 8]);
        assert_eq!(shift, [1; 8]);
        let seeds: std::collections::BTreeSet<u64> = p.iter().map(|m| m.traffic_seed).collect();
        assert_eq!(seeds.len(), 9);
        // Another seed, another plan; one member is the control alone.
        assert_ne!(
            member_plan(&EnsembleSpec {
                seed: 43,
                ..spec.clone()
            })[1],
            p[1]
        );
        assert_eq!(
            member_plan(&EnsembleSpec {
                members: 1,
                ..spec.clone()
            }),
            vec![p[0].clone()]
        );
        // Bad settings are refused.
        for bad in [
            EnsembleSpec {
                members: 0,
                ..spec.clone()
            },
            EnsembleSpec {
                members: 1000,
                ..spec.clone()
            },
            EnsembleSpec {
                rain_scale: (1.2, 0.8),
                ..spec.clone()
            },
            EnsembleSpec {
                shift_min: -1.0,
                ..spec.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    /// A small scenario on the demo district at 60 m cells: a short heavy storm, a small peak.
    fn small_scenario() -> (City, ScenarioSpec) {
        use crate::flood::{Backend, BuildingMode, FloodSpec};
        use crate::scenario::TrafficSpec;
        use crate::storm::StormSpec;
        let city = twin_citygen::generate(&twin_citygen::DemoOptions {
            dem_cell_m: 60.0,
            ..Default::default()
        });
        let mut traffic = TrafficSpec::for_city(&city, 1500, 1);
        traffic.signal_rounds = 0;
        let spec = ScenarioSpec {
            storm: StormSpec {
                flood: FloodSpec {
                    minutes: 40.0,
                    rain: vec![(0.0, 150.0), (30.0, 0.0)],
                    rain_map: None,
                    manning: 0.03,
                    edges: twin_surface::Boundary::Open { slope: None },
                    threshold_m: 0.1,
                    backend: Backend::Cpu,
                },
                buildings: BuildingMode::Roughness(0.1),
                network: None,
                gauges: Vec::new(),
                road_timeline: true,
                frames_every_s: None,
                replay: false,
            },
            traffic,
            rain_start_min: 6.0 * 60.0,
            worst_case: false,
        };
        (city, spec)
    }

    #[test]
    fn members_run_the_same_on_one_thread_or_two() {
        let (city, spec) = small_scenario();
        let ens = EnsembleSpec {
            members: 3,
            ..Default::default()
        };
        let calls = AtomicUsize::new(0);
        let one = run_local(&city, &spec, &ens, 1, &|_| {
            calls.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let two = run_local(&city, &spec, &ens, 2, &|_| {}).unwrap();
        let strip = |v: &[MemberOutcome]| {
            v.iter()
                .map(|o| MemberOutcome {
                    wall_s: 0.0,
                    ..o.clone()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&one), strip(&two));
        assert_eq!(
            one.iter().map(|o| o.member.index).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        // The heaviest member floods at least as much as the lightest.
        let area = |o: &MemberOutcome| o.wet_cells.len();
        let (lo, hi) = if one[1].member.rain_scale < one[2].member.rain_scale {
            (&one[1], &one[2])
        } else {
            (&one[2], &one[1])
        };
        assert!(area(hi) >= area(lo), "{} < {}", area(hi), area(lo));
        assert!(!one[0].wet_cells.is_empty(), "the storm floods something");
        // A shift that takes the rain out of the day is refused before anything runs.
        let late = ScenarioSpec {
            rain_start_min: 23.0 * 60.0 + 50.0,
            ..spec
        };
        let e = run_local(&city, &late, &ens, 1, &|_| {}).unwrap_err();
        assert!(e.to_string().contains("leave the day"), "{e}");
    }
}
