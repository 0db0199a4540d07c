//! Reader and writer for EPA SWMM 5 input files (`.inp`).
//!
//! The format is the one documented in the SWMM 5.2 User's Manual, Appendix D
//! ("Detailed Input File Format"): bracketed section headers, one object per
//! line, whitespace-separated fields, `;` starting a comment and double quotes
//! grouping a field that contains spaces.
//!
//! [`parse`] turns text into a [`Project`]; [`write`] turns a [`Project`] back
//! into text that [`parse`] (and SWMM itself) reads to an equal value. Sections
//! that the engine uses are typed; every other section, known to SWMM or not,
//! is kept verbatim as token rows in [`Project::raw_sections`] so nothing is
//! lost on a round trip. Sections SWMM does not know are listed by
//! [`Project::unknown_sections`].
//!
//! Values are kept in the file's own units (see [`FlowUnits`]); conversion to
//! SI is done by the helpers on [`FlowUnits`].

use std::fmt::Write as _;

/// A parse error: which section and 1-based line, and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("[{section}] line {line}: {message}")]
pub struct InpError {
    /// Section name without brackets (empty before the first header).
    pub section: String,
    /// 1-based line number in the input text.
    pub line: usize,
    /// What was wrong and what was expected.
    pub message: String,
}

/// Flow units of a model (SWMM `FLOW_UNITS`). US units imply feet for lengths,
/// SI units imply metres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlowUnits {
    /// Cubic feet per second.
    #[default]
    Cfs,
    /// US gallons per minute.
    Gpm,
    /// Million US gallons per day.
    Mgd,
    /// Cubic metres per second.
    Cms,
    /// Litres per second.
    Lps,
    /// Million litres per day.
    Mld,
}

impl FlowUnits {
    /// Parses a `FLOW_UNITS` keyword (case-insensitive).
    pub fn from_keyword(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "CFS" => Self::Cfs,
            "GPM" => Self::Gpm,
            "MGD" => Self::Mgd,
            "CMS" => Self::Cms,
            "LPS" => Self::Lps,
            "MLD" => Self::Mld,
            _ => return None,
        })
    }
    /// The keyword as written in `.inp` files.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Cfs => "CFS",
            Self::Gpm => "GPM",
            Self::Mgd => "MGD",
            Self::Cms => "CMS",
            Self::Lps => "LPS",
            Self::Mld => "MLD",
        }
    }
    /// True for the SI flow units (CMS, LPS, MLD), whose lengths are metres.
    pub fn is_si(self) -> bool {
        matches!(self, Self::Cms | Self::Lps | Self::Mld)
    }
    /// Cubic metres per second in one unit of this flow unit (exact definitions).
    pub fn flow_to_cms(self) -> f64 {
        match self {
            Self::Cfs => 0.028_316_846_592,
            Self::Gpm => 0.000_063_090_196_4,
            Self::Mgd => 0.043_812_636_4,
            Self::Cms => 1.0,
            Self::Lps => 0.001,
            Self::Mld => 1.0 / 86.4,
        }
    }
    /// Metres in one length unit of this model (feet for US, metres for SI).
    pub fn length_to_m(self) -> f64 {
        if self.is_si() { 1.0 } else { 0.3048 }
    }
    /// SWMM's factor from internal cfs to this flow unit (`Qcf` in SWMM's
    /// `datetime`/`project` tables). SWMM computes internally in ft and cfs and
    /// uses these rounded factors, so matching SWMM requires the same values.
    pub fn swmm_qcf(self) -> f64 {
        match self {
            Self::Cfs => 1.0,
            Self::Gpm => 448.831,
            Self::Mgd => 0.64632,
            Self::Cms => 0.02832,
            Self::Lps => 28.317,
            Self::Mld => 2.4466,
        }
    }
}

/// One `[OPTIONS]` entry kept in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionEntry {
    /// Option keyword, upper-cased.
    pub key: String,
    /// Remaining tokens joined by one space.
    pub value: String,
}

/// Rain gauge data format (`[RAINGAGES]`).
#[derive(Debug, Clone, PartialEq)]
pub struct RainGage {
    /// Gauge name.
    pub name: String,
    /// INTENSITY, VOLUME or CUMULATIVE.
    pub format: String,
    /// Recording interval in seconds.
    pub interval_s: f64,
    /// Snow catch deficiency factor.
    pub snow_catch: f64,
    /// Where the data come from.
    pub source: GageSource,
}

/// Source of rain gauge data.
#[derive(Debug, Clone, PartialEq)]
pub enum GageSource {
    /// Named time series in `[TIMESERIES]`.
    Timeseries(String),
    /// External file: path, station id, rain units (IN or MM), and the
    /// first day of the record to read.
    File {
        /// File path as written (relative paths are relative to the `.inp`).
        path: String,
        /// Station id.
        station: String,
        /// Rain depth units (IN or MM).
        units: String,
        /// First calendar day of the record to use (year, month, day), if given.
        start: Option<(i32, u32, u32)>,
    },
}

/// Source of the evaporation rate (`[EVAPORATION]`).
#[derive(Debug, Clone, PartialEq)]
pub enum EvapSource {
    /// A constant rate (in/day or mm/day).
    Constant(f64),
    /// One rate per month, January first (in/day or mm/day).
    Monthly(Vec<f64>),
    /// Daily rates held from each time series entry (in/day or mm/day).
    Timeseries(String),
    /// Hargreaves' method from the climate file's daily temperatures.
    Temperature,
    /// Daily pan evaporation from the climate file, times monthly pan
    /// coefficients (empty: all 1).
    File(Vec<f64>),
}

/// `[EVAPORATION]`: rate source, soil recovery pattern and dry-only flag.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaporation {
    /// Rate source (the last data line wins, as in SWMM); none means no evaporation.
    pub source: Option<EvapSource>,
    /// Monthly pattern scaling the infiltration recovery rate.
    pub recovery: Option<String>,
    /// Evaporation only in periods without rain.
    pub dry_only: Option<bool>,
}

/// Source of air temperatures (`[TEMPERATURE]`).
#[derive(Debug, Clone, PartialEq)]
pub enum TempSource {
    /// Named time series.
    Timeseries(String),
    /// Climate file of daily values.
    File {
        /// File path as written (relative paths are relative to the `.inp`).
        path: String,
        /// First day to read (year, month, day); none means the simulation start.
        start: Option<(i32, u32, u32)>,
        /// Temperature units of a GHCN-Daily file: C10, C or F.
        units: Option<String>,
    },
}

/// `[TEMPERATURE]`: the temperature source and the snowmelt-related rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Temperature {
    /// Where temperatures come from.
    pub source: Option<TempSource>,
    /// WINDSPEED, SNOWMELT and ADC rows as tokens (numbers checked on reading).
    pub rows: Vec<Vec<String>>,
}

impl Temperature {
    /// The SNOWMELT row's six numbers (divide temperature, ATI weight, negative
    /// melt ratio, elevation, latitude, longitude correction), if given.
    pub fn snowmelt(&self) -> Option<[f64; 6]> {
        let r = self
            .rows
            .iter()
            .rev()
            .find(|r| r[0].eq_ignore_ascii_case("SNOWMELT"))?;
        let mut v = [0.0; 6];
        for (k, x) in v.iter_mut().enumerate() {
            *x = parse_num(r.get(k + 1)?)?;
        }
        Some(v)
    }
}

/// One `[ADJUSTMENTS]` row of twelve monthly values.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyAdjustment {
    /// TEMPERATURE, EVAPORATION, RAINFALL or CONDUCTIVITY.
    pub kind: String,
    /// January first.
    pub values: Vec<f64>,
}

/// One `[ADJUSTMENTS]` row assigning a monthly pattern to a subcatchment.
#[derive(Debug, Clone, PartialEq)]
pub struct SubcatchAdjustment {
    /// N-PERV, DSTORE or INFIL.
    pub kind: String,
    /// Subcatchment name.
    pub subcatch: String,
    /// Monthly pattern name.
    pub pattern: String,
}

/// `[ADJUSTMENTS]`: monthly climate adjustments and per-subcatchment patterns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Adjustments {
    /// Monthly rows, in file order.
    pub monthly: Vec<MonthlyAdjustment>,
    /// Subcatchment pattern rows, in file order.
    pub subcatch: Vec<SubcatchAdjustment>,
}

/// A subcatchment (`[SUBCATCHMENTS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Subcatchment {
    /// Name.
    pub name: String,
    /// Rain gauge name.
    pub gage: String,
    /// Outlet node or subcatchment.
    pub outlet: String,
    /// Area (acres or hectares).
    pub area: f64,
    /// Percent impervious.
    pub imperv_pct: f64,
    /// Characteristic width (ft or m).
    pub width: f64,
    /// Slope in percent.
    pub slope_pct: f64,
    /// Curb length.
    pub curb_len: f64,
    /// Snow pack name, if any.
    pub snowpack: Option<String>,
}

/// Surface parameters of a subcatchment (`[SUBAREAS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Subarea {
    /// Subcatchment name.
    pub subcatch: String,
    /// Manning n of the impervious area.
    pub n_imperv: f64,
    /// Manning n of the pervious area.
    pub n_perv: f64,
    /// Depression storage on the impervious area (in or mm).
    pub s_imperv: f64,
    /// Depression storage on the pervious area (in or mm).
    pub s_perv: f64,
    /// Percent of the impervious area with no depression storage.
    pub pct_zero: f64,
    /// Internal routing: OUTLET, IMPERVIOUS (pervious runoff onto the
    /// impervious area) or PERVIOUS (impervious runoff onto the pervious area).
    pub route_to: String,
    /// Percent of runoff routed internally (default 100).
    pub pct_routed: Option<f64>,
}

/// Infiltration parameters of a subcatchment (`[INFILTRATION]`); their meaning
/// depends on the model (Horton: max rate, min rate, decay, dry time, max
/// volume; Green-Ampt: suction, Ksat, initial deficit; Curve Number: CN, -, dry time).
#[derive(Debug, Clone, PartialEq)]
pub struct Infiltration {
    /// Subcatchment name.
    pub subcatch: String,
    /// Numeric parameters in file order.
    pub params: Vec<f64>,
    /// Per-subcatchment method override (SWMM 5.2), if given.
    pub method: Option<String>,
}

/// A junction (`[JUNCTIONS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Junction {
    /// Name.
    pub name: String,
    /// Invert elevation.
    pub invert: f64,
    /// Depth from invert to ground.
    pub max_depth: f64,
    /// Initial water depth.
    pub init_depth: f64,
    /// Extra depth allowed above ground before flooding (pressurised manhole).
    pub sur_depth: f64,
    /// Ponded area when flooded.
    pub ponded_area: f64,
}

/// Outfall boundary type.
#[derive(Debug, Clone, PartialEq)]
pub enum OutfallKind {
    /// Critical/normal depth, whichever is smaller.
    Free,
    /// Normal depth of the connecting conduit.
    Normal,
    /// Fixed stage elevation.
    Fixed(f64),
    /// Tidal curve name.
    Tidal(String),
    /// Stage time series name.
    Timeseries(String),
}

/// An outfall (`[OUTFALLS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Outfall {
    /// Name.
    pub name: String,
    /// Invert elevation.
    pub invert: f64,
    /// Boundary condition.
    pub kind: OutfallKind,
    /// Flap gate present.
    pub gated: bool,
    /// Subcatchment receiving the outfall's flow, if any.
    pub route_to: Option<String>,
}

/// Storage unit shape.
#[derive(Debug, Clone, PartialEq)]
pub enum StorageShape {
    /// Area = a * depth^b + c.
    Functional {
        /// Coefficient.
        a: f64,
        /// Exponent.
        b: f64,
        /// Constant.
        c: f64,
    },
    /// Area from a STORAGE curve.
    Tabular(String),
    /// Other SWMM 5.2 shapes (CYLINDRICAL, CONICAL, PARABOLIC, PYRAMIDAL) with 3 parameters.
    Other {
        /// Shape keyword.
        shape: String,
        /// Parameters.
        params: [f64; 3],
    },
}

/// A storage unit (`[STORAGE]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Storage {
    /// Name.
    pub name: String,
    /// Invert elevation.
    pub invert: f64,
    /// Maximum depth.
    pub max_depth: f64,
    /// Initial depth.
    pub init_depth: f64,
    /// Surface-area relation.
    pub shape: StorageShape,
    /// Optional trailing values: surcharge depth, evaporation factor, seepage (Psi, Ksat, IMD).
    pub extra: Vec<f64>,
}

/// A flow divider (`[DIVIDERS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Divider {
    /// Name.
    pub name: String,
    /// Invert elevation.
    pub invert: f64,
    /// Link receiving the diverted flow.
    pub diverted_link: String,
    /// CUTOFF, OVERFLOW, TABULAR or WEIR.
    pub kind: String,
    /// Parameters of the divider type (as text: a curve name or numbers).
    pub kind_params: Vec<String>,
    /// Max depth, initial depth, surcharge depth, ponded area.
    pub node_params: Vec<f64>,
}

/// A conduit (`[CONDUITS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Conduit {
    /// Name.
    pub name: String,
    /// Upstream node.
    pub from: String,
    /// Downstream node.
    pub to: String,
    /// Length.
    pub length: f64,
    /// Manning's n.
    pub roughness: f64,
    /// Inlet offset (depth or elevation, per LINK_OFFSETS).
    pub in_offset: f64,
    /// Outlet offset.
    pub out_offset: f64,
    /// Initial flow.
    pub init_flow: f64,
    /// Maximum flow (0 = none).
    pub max_flow: f64,
}

/// A pump (`[PUMPS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Pump {
    /// Name.
    pub name: String,
    /// Inlet node.
    pub from: String,
    /// Outlet node.
    pub to: String,
    /// Pump curve name, or `*` for an ideal pump.
    pub curve: String,
    /// Initially on.
    pub on: bool,
    /// Inlet depth at which the pump starts.
    pub startup: f64,
    /// Inlet depth at which the pump stops.
    pub shutoff: f64,
}

/// An orifice (`[ORIFICES]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Orifice {
    /// Name.
    pub name: String,
    /// Inlet node.
    pub from: String,
    /// Outlet node.
    pub to: String,
    /// SIDE or BOTTOM.
    pub kind: String,
    /// Offset of the bottom above the inlet node invert.
    pub offset: f64,
    /// Discharge coefficient.
    pub cd: f64,
    /// Flap gate.
    pub gated: bool,
    /// Time to open/close (hours).
    pub close_time: f64,
}

/// A weir (`[WEIRS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Weir {
    /// Name.
    pub name: String,
    /// Inlet node.
    pub from: String,
    /// Outlet node.
    pub to: String,
    /// TRANSVERSE, SIDEFLOW, V-NOTCH, TRAPEZOIDAL or ROADWAY.
    pub kind: String,
    /// Crest height above inlet invert.
    pub crest: f64,
    /// Discharge coefficient.
    pub cd: f64,
    /// Flap gate.
    pub gated: bool,
    /// Number of end contractions.
    pub end_contractions: f64,
    /// Discharge coefficient of the triangular ends (trapezoidal weir).
    pub cd2: f64,
    /// Weir may surcharge.
    pub can_surcharge: bool,
    /// Remaining optional fields (road width, road surface, coefficient curve).
    pub extra: Vec<String>,
}

/// An outlet (`[OUTLETS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Outlet {
    /// Name.
    pub name: String,
    /// Inlet node.
    pub from: String,
    /// Outlet node.
    pub to: String,
    /// Offset above inlet invert.
    pub offset: f64,
    /// FUNCTIONAL/DEPTH, FUNCTIONAL/HEAD, TABULAR/DEPTH or TABULAR/HEAD.
    pub kind: String,
    /// Coefficient and exponent (functional) or curve name (tabular).
    pub params: Vec<String>,
    /// Flap gate.
    pub gated: bool,
}

/// A cross section (`[XSECTIONS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct XSection {
    /// Link name.
    pub link: String,
    /// Shape keyword, upper-cased (CIRCULAR, RECT_CLOSED, ...).
    pub shape: String,
    /// Geometric parameters Geom1..Geom4 (full depth first).
    pub geom: [f64; 4],
    /// Number of barrels.
    pub barrels: f64,
    /// Culvert inlet code (0 = none).
    pub culvert: f64,
    /// Curve, transect or street name (CUSTOM, IRREGULAR, STREET shapes).
    pub curve: Option<String>,
}

/// Minor losses (`[LOSSES]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Loss {
    /// Conduit name.
    pub link: String,
    /// Entrance loss coefficient.
    pub entry: f64,
    /// Exit loss coefficient.
    pub exit: f64,
    /// Average loss coefficient.
    pub avg: f64,
    /// Flap gate.
    pub flap_gate: bool,
    /// Seepage rate.
    pub seepage: f64,
}

/// A natural channel cross section (`[TRANSECTS]`, HEC-2 format: NC, X1
/// and GR lines).
#[derive(Debug, Clone, PartialEq)]
pub struct Transect {
    /// Name.
    pub name: String,
    /// Manning's n of the left overbank, right overbank and main channel in
    /// effect for this transect (an NC value of 0 keeps the previous one).
    pub n: [f64; 3],
    /// X1 fields after the name: station count, left and right bank
    /// stations, two unused values, channel/flood-plain length ratio, station
    /// multiplier, elevation offset.
    pub x1: [f64; 8],
    /// (elevation, station) points left to right.
    pub points: Vec<(f64, f64)>,
}

/// A curve (`[CURVES]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Name.
    pub name: String,
    /// Curve type (STORAGE, PUMP1..PUMP5, RATING, TIDAL, ...).
    pub kind: String,
    /// (x, y) points in file order.
    pub points: Vec<(f64, f64)>,
}

/// One time series point.
#[derive(Debug, Clone, PartialEq)]
pub struct TsPoint {
    /// Calendar date (year, month, day), if the row carried one.
    pub date: Option<(i32, u32, u32)>,
    /// Time in hours (from the date, or from simulation start when no date).
    pub hours: f64,
    /// Value.
    pub value: f64,
}

/// A time series (`[TIMESERIES]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Timeseries {
    /// Name.
    pub name: String,
    /// Points, or an external file.
    pub data: TsData,
}

/// Data of a time series.
#[derive(Debug, Clone, PartialEq)]
pub enum TsData {
    /// Inline points.
    Points(Vec<TsPoint>),
    /// External file path.
    File(String),
}

/// A time pattern (`[PATTERNS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Name.
    pub name: String,
    /// MONTHLY, DAILY, HOURLY or WEEKEND.
    pub kind: String,
    /// Multipliers.
    pub factors: Vec<f64>,
}

/// Dry-weather inflow (`[DWF]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Dwf {
    /// Node.
    pub node: String,
    /// FLOW or a pollutant name.
    pub constituent: String,
    /// Average value.
    pub base: f64,
    /// Up to four pattern names (empty string for none).
    pub patterns: Vec<String>,
}

/// External inflow (`[INFLOWS]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Inflow {
    /// Node.
    pub node: String,
    /// FLOW or a pollutant name.
    pub constituent: String,
    /// Time series name (empty for none).
    pub timeseries: String,
    /// FLOW, CONCEN or MASS.
    pub kind: String,
    /// Units conversion factor.
    pub mfactor: f64,
    /// Scale factor.
    pub sfactor: f64,
    /// Baseline value.
    pub baseline: f64,
    /// Baseline pattern (empty for none).
    pub pattern: String,
}

/// A section kept as token rows.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSection {
    /// Section name, upper-cased, without brackets.
    pub name: String,
    /// Whether SWMM 5.2 knows this section.
    pub known: bool,
    /// Token rows (comments removed).
    pub rows: Vec<Vec<String>>,
}

/// A whole SWMM input file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Project {
    /// `[TITLE]` lines.
    pub title: Vec<String>,
    /// `[OPTIONS]` entries in file order.
    pub options: Vec<OptionEntry>,
    /// `[RAINGAGES]`.
    pub raingages: Vec<RainGage>,
    /// `[SUBCATCHMENTS]`.
    pub subcatchments: Vec<Subcatchment>,
    /// `[SUBAREAS]`.
    pub subareas: Vec<Subarea>,
    /// `[INFILTRATION]`.
    pub infiltration: Vec<Infiltration>,
    /// `[JUNCTIONS]`.
    pub junctions: Vec<Junction>,
    /// `[OUTFALLS]`.
    pub outfalls: Vec<Outfall>,
    /// `[STORAGE]`.
    pub storage: Vec<Storage>,
    /// `[DIVIDERS]`.
    pub dividers: Vec<Divider>,
    /// `[CONDUITS]`.
    pub conduits: Vec<Conduit>,
    /// `[PUMPS]`.
    pub pumps: Vec<Pump>,
    /// `[ORIFICES]`.
    pub orifices: Vec<Orifice>,
    /// `[WEIRS]`.
    pub weirs: Vec<Weir>,
    /// `[OUTLETS]`.
    pub outlets: Vec<Outlet>,
    /// `[XSECTIONS]`.
    pub xsections: Vec<XSection>,
    /// `[LOSSES]`.
    pub losses: Vec<Loss>,
    /// `[CURVES]`.
    pub curves: Vec<Curve>,
    /// `[TRANSECTS]`.
    pub transects: Vec<Transect>,
    /// `[TIMESERIES]`.
    pub timeseries: Vec<Timeseries>,
    /// `[PATTERNS]`.
    pub patterns: Vec<Pattern>,
    /// `[DWF]`.
    pub dwf: Vec<Dwf>,
    /// `[INFLOWS]`.
    pub inflows: Vec<Inflow>,
    /// `[EVAPORATION]`.
    pub evaporation: Evaporation,
    /// `[TEMPERATURE]`.
    pub temperature: Temperature,
    /// `[ADJUSTMENTS]`.
    pub adjustments: Adjustments,
    /// `[CONTROLS]` lines (comments removed, whitespace normalised).
    pub controls: Vec<String>,
    /// `[COORDINATES]` node coordinates.
    pub coordinates: Vec<(String, f64, f64)>,
    /// `[VERTICES]` link vertices.
    pub vertices: Vec<(String, f64, f64)>,
    /// `[POLYGONS]` subcatchment outline points.
    pub polygons: Vec<(String, f64, f64)>,
    /// Every other section (REPORT, MAP, TAGS, pollutants, LID, ...
    /// and sections SWMM does not know), verbatim as token rows, in file order.
    pub raw_sections: Vec<RawSection>,
}

/// Sections SWMM 5.2 recognises that are kept as raw rows here.
const KNOWN_RAW: &[&str] = &[
    "HYDROGRAPHS",
    "RDII",
    "AQUIFERS",
    "GROUNDWATER",
    "GWF",
    "SNOWPACKS",
    "STREETS",
    "INLETS",
    "INLET_USAGE",
    "LID_CONTROLS",
    "LID_USAGE",
    "POLLUTANTS",
    "LANDUSES",
    "COVERAGES",
    "LOADINGS",
    "BUILDUP",
    "WASHOFF",
    "TREATMENT",
    "FILES",
    "EVENTS",
    "REPORT",
    "TAGS",
    "MAP",
    "LABELS",
    "SYMBOLS",
    "BACKDROP",
    "PROFILES",
];

impl Project {
    /// Value of an option keyword (upper-case), if present (last one wins, as in SWMM).
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|o| o.key == key)
            .map(|o| o.value.as_str())
    }
    /// The model's flow units (CFS when not given, as in SWMM).
    pub fn flow_units(&self) -> FlowUnits {
        self.option("FLOW_UNITS")
            .and_then(FlowUnits::from_keyword)
            .unwrap_or_default()
    }
    /// Names of sections that SWMM 5.2 does not recognise (kept, not interpreted).
    pub fn unknown_sections(&self) -> Vec<&str> {
        self.raw_sections
            .iter()
            .filter(|s| !s.known)
            .map(|s| s.name.as_str())
            .collect()
    }
    /// Raw section by name, if present.
    pub fn raw_section(&self, name: &str) -> Option<&RawSection> {
        self.raw_sections.iter().find(|s| s.name == name)
    }
}

/// Splits a line into tokens: whitespace-separated, `"..."` grouping, `;` comment.
pub fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut had_quote = false;
    for c in line.chars() {
        if in_quote {
            if c == '"' {
                in_quote = false;
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                in_quote = true;
                had_quote = true;
            }
            ';' => break,
            c if c.is_whitespace() => {
                if !cur.is_empty() || had_quote {
                    out.push(std::mem::take(&mut cur));
                    had_quote = false;
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() || had_quote {
        out.push(cur);
    }
    out
}

struct Row<'a> {
    section: &'a str,
    line: usize,
    tok: Vec<String>,
}

impl Row<'_> {
    fn err(&self, message: String) -> InpError {
        InpError {
            section: self.section.to_string(),
            line: self.line,
            message,
        }
    }
    fn need(&self, n: usize, fields: &str) -> Result<(), InpError> {
        if self.tok.len() < n {
            Err(self.err(format!(
                "expected at least {n} fields ({fields}), found {}",
                self.tok.len()
            )))
        } else {
            Ok(())
        }
    }
    fn s(&self, i: usize) -> String {
        self.tok.get(i).cloned().unwrap_or_default()
    }
    fn f(&self, i: usize, field: &str) -> Result<f64, InpError> {
        let t = self.tok.get(i).ok_or_else(|| {
            self.err(format!(
                "missing field {} ({field}), expected a number",
                i + 1
            ))
        })?;
        parse_num(t).ok_or_else(|| {
            self.err(format!(
                "field {} ({field}) expected a number, found '{t}'",
                i + 1
            ))
        })
    }
    fn f_or(&self, i: usize, field: &str, default: f64) -> Result<f64, InpError> {
        if i < self.tok.len() {
            self.f(i, field)
        } else {
            Ok(default)
        }
    }
    fn yes_no(&self, i: usize, field: &str, default: bool) -> Result<bool, InpError> {
        match self.tok.get(i) {
            None => Ok(default),
            Some(t) => match t.to_ascii_uppercase().as_str() {
                "YES" | "ON" | "TRUE" => Ok(true),
                "NO" | "OFF" | "FALSE" => Ok(false),
                _ => Err(self.err(format!(
                    "field {} ({field}) expected YES or NO, found '{t}'",
                    i + 1
                ))),
            },
        }
    }
}

impl Row<'_> {
    /// An optional date field where `*` (or no field) means none.
    fn date_or_star(&self, i: usize, field: &str) -> Result<Option<(i32, u32, u32)>, InpError> {
        match self.tok.get(i).map(String::as_str) {
            None | Some("*") => Ok(None),
            Some(t) => parse_date(t).map(Some).ok_or_else(|| {
                self.err(format!(
                    "field {} ({field}) expected a date mm/dd/yyyy or *, found '{t}'",
                    i + 1
                ))
            }),
        }
    }
    /// Fields `from..from+n` as numbers, the `n` values SWMM expects.
    fn numbers(&self, from: usize, n: usize, field: &str) -> Result<Vec<f64>, InpError> {
        if self.tok.len() < from + n {
            return Err(self.err(format!(
                "expected {n} values ({field}) after field {from}, found {}",
                self.tok.len().saturating_sub(from)
            )));
        }
        (from..from + n).map(|i| self.f(i, field)).collect()
    }
}

/// A finite number, or nothing.
pub(crate) fn parse_num(t: &str) -> Option<f64> {
    let v: f64 = t.parse().ok()?;
    if v.is_finite() { Some(v) } else { None }
}

/// Parses a clock time `h:mm[:ss]` or decimal hours into hours.
pub fn parse_hours(t: &str) -> Option<f64> {
    if t.contains(':') {
        let mut parts = t.split(':');
        let h: f64 = parts.next()?.parse().ok()?;
        let m: f64 = parts.next().map(|p| p.parse().ok()).unwrap_or(Some(0.0))?;
        let s: f64 = parts.next().map(|p| p.parse().ok()).unwrap_or(Some(0.0))?;
        if parts.next().is_some()
            || h < 0.0
            || !(0.0..60.0).contains(&m)
            || !(0.0..60.0).contains(&s)
        {
            return None;
        }
        Some(h + m / 60.0 + s / 3600.0)
    } else {
        parse_num(t)
    }
}

/// Parses a date in SWMM's default month-day-year order, `mm/dd/yyyy` or
/// `mm-dd-yyyy`, the month also as a three-letter name (`Jan-05-2020`), into
/// (year, month, day). Days beyond the month's length are refused.
pub fn parse_date(t: &str) -> Option<(i32, u32, u32)> {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let mut p = t.split(['/', '-']);
    let ms = p.next()?.trim();
    let m: u32 = match ms.parse() {
        Ok(m) => m,
        Err(_) => {
            let k = MONTHS
                .iter()
                .position(|n| ms.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(n)))?;
            k as u32 + 1
        }
    };
    let d: u32 = p.next()?.trim().parse().ok()?;
    let y: i32 = p.next()?.trim().parse().ok()?;
    if p.next().is_some() || !(1..=12).contains(&m) || !(1..=9999).contains(&y) {
        return None;
    }
    if d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some((y, m, d))
}

/// Number of days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Writes a date as `mm/dd/yyyy`.
pub fn fmt_date((y, m, d): (i32, u32, u32)) -> String {
    format!("{m:02}/{d:02}/{y:04}")
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn fmt_hours(h: f64) -> String {
    let s = h * 3600.0;
    if (s - s.round()).abs() < 1e-9 && s >= 0.0 {
        let s = s.round() as i64;
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{h}")
    }
}

fn q(s: &str) -> String {
    if s.is_empty()
        || s.starts_with('[')
        || s.chars().any(|c| c.is_whitespace() || c == ';' || c == '"')
    {
        format!("\"{}\"", s.replace('"', ""))
    } else {
        s.to_string()
    }
}

fn yn(b: bool) -> &'static str {
    if b { "YES" } else { "NO" }
}

/// Parses the text of a SWMM `.inp` file.
pub fn parse(text: &str) -> Result<Project, InpError> {
    let mut p = Project::default();
    let mut section = String::new();
    let mut state = ParseState::default();
    for (idx, raw_line) in text.lines().enumerate() {
        let line_no = idx + 1;
        let trimmed = raw_line.trim();
        if trimmed.starts_with('[') {
            let end = trimmed.find(']').ok_or_else(|| InpError {
                section: section.clone(),
                line: line_no,
                message: format!("section header '{trimmed}' has no closing ']'"),
            })?;
            section = trimmed[1..end].trim().to_ascii_uppercase();
            if section.is_empty() {
                return Err(InpError {
                    section,
                    line: line_no,
                    message: "empty section name '[]'".into(),
                });
            }
            if !is_typed(&section) && !p.raw_sections.iter().any(|s| s.name == section) {
                p.raw_sections.push(RawSection {
                    name: section.clone(),
                    known: KNOWN_RAW.contains(&section.as_str()),
                    rows: Vec::new(),
                });
            }
            continue;
        }
        if section == "TITLE" {
            if !trimmed.is_empty() && !trimmed.starts_with(";;") {
                p.title.push(trimmed.to_string());
            }
            continue;
        }
        let tok = tokenize(raw_line);
        if tok.is_empty() {
            continue;
        }
        let row = Row {
            section: &section,
            line: line_no,
            tok,
        };
        if section.is_empty() {
            return Err(row.err("data before the first [SECTION] header".into()));
        }
        parse_row(&mut p, &row, &mut state)?;
    }
    Ok(p)
}

fn is_typed(s: &str) -> bool {
    matches!(
        s,
        "TITLE"
            | "OPTIONS"
            | "RAINGAGES"
            | "SUBCATCHMENTS"
            | "SUBAREAS"
            | "INFILTRATION"
            | "JUNCTIONS"
            | "OUTFALLS"
            | "STORAGE"
            | "DIVIDERS"
            | "CONDUITS"
            | "PUMPS"
            | "ORIFICES"
            | "WEIRS"
            | "OUTLETS"
            | "XSECTIONS"
            | "LOSSES"
            | "CURVES"
            | "TRANSECTS"
            | "TIMESERIES"
            | "PATTERNS"
            | "DWF"
            | "INFLOWS"
            | "EVAPORATION"
            | "TEMPERATURE"
            | "ADJUSTMENTS"
            | "CONTROLS"
            | "COORDINATES"
            | "VERTICES"
            | "POLYGONS"
    )
}

const INFIL_METHODS: &[&str] = &[
    "HORTON",
    "MODIFIED_HORTON",
    "GREEN_AMPT",
    "MODIFIED_GREEN_AMPT",
    "CURVE_NUMBER",
];

/// What a row's meaning depends on from earlier rows.
#[derive(Default)]
struct ParseState {
    /// Curve whose first row named its type: (curve, type).
    pending_curve: Option<(String, String)>,
    /// Manning's n of [TRANSECTS] in effect (left, right, channel).
    nc: [f64; 3],
    /// An NC line came after the last X1 line.
    nc_ready: bool,
}

fn parse_row(p: &mut Project, r: &Row, st: &mut ParseState) -> Result<(), InpError> {
    let pending_curve = &mut st.pending_curve;
    let t = &r.tok;
    match r.section {
        "OPTIONS" => {
            r.need(2, "Option Value")?;
            let key = t[0].to_ascii_uppercase();
            let value = t[1..].iter().map(|s| q(s)).collect::<Vec<_>>().join(" ");
            if key == "FLOW_UNITS" && FlowUnits::from_keyword(&value).is_none() {
                return Err(r.err(format!(
                    "FLOW_UNITS expected CFS, GPM, MGD, CMS, LPS or MLD, found '{value}'"
                )));
            }
            if matches!(
                key.as_str(),
                "START_DATE" | "END_DATE" | "REPORT_START_DATE"
            ) && parse_date(&value).is_none()
            {
                return Err(r.err(format!("{key} expected a date mm/dd/yyyy, found '{value}'")));
            }
            if matches!(
                key.as_str(),
                "START_TIME"
                    | "END_TIME"
                    | "REPORT_START_TIME"
                    | "REPORT_STEP"
                    | "WET_STEP"
                    | "DRY_STEP"
            ) && parse_hours(&value).is_none()
            {
                return Err(r.err(format!("{key} expected a time hh:mm:ss, found '{value}'")));
            }
            let choices: &[&str] = match key.as_str() {
                "SURCHARGE_METHOD" => &["EXTRAN", "SLOT"],
                "FORCE_MAIN_EQUATION" => &["H-W", "D-W"],
                _ => &[],
            };
            if !choices.is_empty() && !choices.iter().any(|c| value.eq_ignore_ascii_case(c)) {
                return Err(r.err(format!(
                    "field 2 ({key}) expected {}, found '{value}'",
                    choices.join(", ")
                )));
            }
            p.options.push(OptionEntry { key, value });
        }
        "RAINGAGES" => {
            r.need(6, "Name Format Interval SCF Source SourceName")?;
            let interval = parse_hours(&t[2]).ok_or_else(|| {
                r.err(format!(
                    "field 3 (Interval) expected hh:mm or hours, found '{}'",
                    t[2]
                ))
            })?;
            let source = match t[4].to_ascii_uppercase().as_str() {
                "TIMESERIES" => GageSource::Timeseries(t[5].clone()),
                "FILE" => {
                    r.need(
                        8,
                        "Name Format Interval SCF FILE Path Station Units [Start]",
                    )?;
                    let units = t[7].to_ascii_uppercase();
                    if units != "IN" && units != "MM" {
                        return Err(r.err(format!(
                            "field 8 (Units) expected IN or MM, found '{}'",
                            t[7]
                        )));
                    }
                    GageSource::File {
                        path: t[5].clone(),
                        station: t[6].clone(),
                        units,
                        start: r.date_or_star(8, "Start")?,
                    }
                }
                other => {
                    return Err(r.err(format!(
                        "field 5 (Source) expected TIMESERIES or FILE, found '{other}'"
                    )));
                }
            };
            p.raingages.push(RainGage {
                name: t[0].clone(),
                format: t[1].to_ascii_uppercase(),
                // SWMM keeps the recording interval in whole seconds.
                interval_s: (interval * 3600.0 + 0.5).floor(),
                snow_catch: r.f(3, "SCF")?,
                source,
            });
        }
        "SUBCATCHMENTS" => {
            r.need(8, "Name Gage Outlet Area %Imperv Width Slope CurbLen")?;
            p.subcatchments.push(Subcatchment {
                name: t[0].clone(),
                gage: t[1].clone(),
                outlet: t[2].clone(),
                area: r.f(3, "Area")?,
                imperv_pct: r.f(4, "%Imperv")?,
                width: r.f(5, "Width")?,
                slope_pct: r.f(6, "Slope")?,
                curb_len: r.f(7, "CurbLen")?,
                snowpack: t.get(8).cloned(),
            });
        }
        "SUBAREAS" => {
            r.need(
                7,
                "Subcatch N-Imperv N-Perv S-Imperv S-Perv PctZero RouteTo",
            )?;
            let route_to = t[6].to_ascii_uppercase();
            if !matches!(route_to.as_str(), "OUTLET" | "IMPERVIOUS" | "PERVIOUS") {
                return Err(r.err(format!(
                    "field 7 (RouteTo) expected OUTLET, IMPERVIOUS or PERVIOUS, found '{}'",
                    t[6]
                )));
            }
            let pct_routed = if t.len() > 7 {
                let x = r.f(7, "PctRouted")?;
                if !(0.0..=100.0).contains(&x) {
                    return Err(r.err(format!(
                        "field 8 (PctRouted) expected a percent from 0 to 100, found '{}'",
                        t[7]
                    )));
                }
                Some(x)
            } else {
                None
            };
            p.subareas.push(Subarea {
                subcatch: t[0].clone(),
                n_imperv: r.f(1, "N-Imperv")?,
                n_perv: r.f(2, "N-Perv")?,
                s_imperv: r.f(3, "S-Imperv")?,
                s_perv: r.f(4, "S-Perv")?,
                pct_zero: r.f(5, "PctZero")?,
                route_to,
                pct_routed,
            });
        }
        "INFILTRATION" => {
            r.need(3, "Subcatch P1 P2 ...")?;
            let mut params = Vec::new();
            let mut method = None;
            for (i, tk) in t.iter().enumerate().skip(1) {
                if i == t.len() - 1 && INFIL_METHODS.contains(&tk.to_ascii_uppercase().as_str()) {
                    method = Some(tk.to_ascii_uppercase());
                } else {
                    params.push(r.f(i, "infiltration parameter")?);
                }
            }
            p.infiltration.push(Infiltration {
                subcatch: t[0].clone(),
                params,
                method,
            });
        }
        "JUNCTIONS" => {
            r.need(2, "Name Elev [MaxDepth InitDepth SurDepth PondedArea]")?;
            p.junctions.push(Junction {
                name: t[0].clone(),
                invert: r.f(1, "Elev")?,
                max_depth: r.f_or(2, "MaxDepth", 0.0)?,
                init_depth: r.f_or(3, "InitDepth", 0.0)?,
                sur_depth: r.f_or(4, "SurDepth", 0.0)?,
                ponded_area: r.f_or(5, "PondedArea", 0.0)?,
            });
        }
        "OUTFALLS" => {
            r.need(3, "Name Elev Type [Stage] [Gated] [RouteTo]")?;
            let (kind, next) = match t[2].to_ascii_uppercase().as_str() {
                "FREE" => (OutfallKind::Free, 3),
                "NORMAL" => (OutfallKind::Normal, 3),
                "FIXED" => (OutfallKind::Fixed(r.f(3, "Stage")?), 4),
                "TIDAL" => {
                    r.need(4, "Name Elev TIDAL Curve")?;
                    (OutfallKind::Tidal(t[3].clone()), 4)
                }
                "TIMESERIES" => {
                    r.need(4, "Name Elev TIMESERIES Series")?;
                    (OutfallKind::Timeseries(t[3].clone()), 4)
                }
                other => {
                    return Err(r.err(format!(
                        "field 3 (Type) expected FREE, NORMAL, FIXED, TIDAL or TIMESERIES, found '{other}'"
                    )));
                }
            };
            p.outfalls.push(Outfall {
                name: t[0].clone(),
                invert: r.f(1, "Elev")?,
                kind,
                gated: r.yes_no(next, "Gated", false)?,
                route_to: t.get(next + 1).cloned(),
            });
        }
        "STORAGE" => {
            r.need(6, "Name Elev MaxDepth InitDepth Shape Params")?;
            let kw = t[4].to_ascii_uppercase();
            let (shape, next) = match kw.as_str() {
                "FUNCTIONAL" => (
                    StorageShape::Functional {
                        a: r.f(5, "A")?,
                        b: r.f(6, "B")?,
                        c: r.f(7, "C")?,
                    },
                    8,
                ),
                "TABULAR" => (StorageShape::Tabular(t[5].clone()), 6),
                "CYLINDRICAL" | "CONICAL" | "PARABOLIC" | "PYRAMIDAL" => (
                    StorageShape::Other {
                        shape: kw.clone(),
                        params: [r.f(5, "L")?, r.f(6, "W")?, r.f(7, "Z")?],
                    },
                    8,
                ),
                other => {
                    return Err(r.err(format!(
                        "field 5 (Shape) expected FUNCTIONAL, TABULAR, CYLINDRICAL, CONICAL, PARABOLIC or PYRAMIDAL, found '{other}'"
                    )));
                }
            };
            let mut extra = Vec::new();
            const EXTRA: [&str; 5] = ["SurDepth", "Fevap", "Psi", "Ksat", "IMD"];
            for i in next..t.len() {
                extra.push(r.f(i, EXTRA.get(i - next).copied().unwrap_or("extra value"))?);
            }
            check_seepage(r, next, &extra)?;
            p.storage.push(Storage {
                name: t[0].clone(),
                invert: r.f(1, "Elev")?,
                max_depth: r.f(2, "MaxDepth")?,
                init_depth: r.f(3, "InitDepth")?,
                shape,
                extra,
            });
        }
        "DIVIDERS" => {
            r.need(4, "Name Elev DivLink Type ...")?;
            let kind = t[3].to_ascii_uppercase();
            let nk = match kind.as_str() {
                "OVERFLOW" => 0,
                "CUTOFF" | "TABULAR" => 1,
                "WEIR" => 3,
                other => {
                    return Err(r.err(format!(
                        "field 4 (Type) expected CUTOFF, OVERFLOW, TABULAR or WEIR, found '{other}'"
                    )));
                }
            };
            r.need(4 + nk, "divider type parameters")?;
            let mut node_params = Vec::new();
            for i in 4 + nk..t.len() {
                node_params.push(r.f(i, "MaxDepth/InitDepth/SurDepth/PondedArea")?);
            }
            p.dividers.push(Divider {
                name: t[0].clone(),
                invert: r.f(1, "Elev")?,
                diverted_link: t[2].clone(),
                kind,
                kind_params: t[4..4 + nk].to_vec(),
                node_params,
            });
        }
        "CONDUITS" => {
            r.need(
                7,
                "Name From To Length N InOffset OutOffset [InitFlow MaxFlow]",
            )?;
            p.conduits.push(Conduit {
                name: t[0].clone(),
                from: t[1].clone(),
                to: t[2].clone(),
                length: r.f(3, "Length")?,
                roughness: r.f(4, "N")?,
                in_offset: offset_or_star(r, 5, "InOffset")?,
                out_offset: offset_or_star(r, 6, "OutOffset")?,
                init_flow: r.f_or(7, "InitFlow", 0.0)?,
                max_flow: r.f_or(8, "MaxFlow", 0.0)?,
            });
        }
        "PUMPS" => {
            r.need(4, "Name From To Curve [Status Startup Shutoff]")?;
            p.pumps.push(Pump {
                name: t[0].clone(),
                from: t[1].clone(),
                to: t[2].clone(),
                curve: t[3].clone(),
                on: r.yes_no(4, "Status", true)?,
                startup: r.f_or(5, "Startup", 0.0)?,
                shutoff: r.f_or(6, "Shutoff", 0.0)?,
            });
        }
        "ORIFICES" => {
            r.need(6, "Name From To Type Offset Cd [Gated CloseTime]")?;
            p.orifices.push(Orifice {
                name: t[0].clone(),
                from: t[1].clone(),
                to: t[2].clone(),
                kind: t[3].to_ascii_uppercase(),
                offset: offset_or_star(r, 4, "Offset")?,
                cd: r.f(5, "Cd")?,
                gated: r.yes_no(6, "Gated", false)?,
                close_time: r.f_or(7, "CloseTime", 0.0)?,
            });
        }
        "WEIRS" => {
            r.need(6, "Name From To Type CrestHt Cd [Gated EC Cd2 Sur ...]")?;
            p.weirs.push(Weir {
                name: t[0].clone(),
                from: t[1].clone(),
                to: t[2].clone(),
                kind: t[3].to_ascii_uppercase(),
                crest: offset_or_star(r, 4, "CrestHt")?,
                cd: r.f(5, "Cd")?,
                gated: r.yes_no(6, "Gated", false)?,
                end_contractions: r.f_or(7, "EC", 0.0)?,
                cd2: r.f_or(8, "Cd2", 0.0)?,
                can_surcharge: r.yes_no(9, "Sur", true)?,
                extra: t.get(10..).map(|s| s.to_vec()).unwrap_or_default(),
            });
            if t[3].eq_ignore_ascii_case("ROADWAY") && t.len() > 10 {
                let w = r.f(10, "RoadWidth")?;
                if w < 0.0 {
                    return Err(r.err(format!(
                        "field 11 (RoadWidth) must not be negative, found {w}"
                    )));
                }
            }
        }
        "OUTLETS" => {
            r.need(6, "Name From To Offset Type Params")?;
            let kind = t[4].to_ascii_uppercase();
            let np = if kind.starts_with("FUNCTIONAL") { 2 } else { 1 };
            r.need(5 + np, "outlet parameters")?;
            if np == 2 {
                r.f(5, "Qcoeff")?;
                r.f(6, "Qexpon")?;
            }
            p.outlets.push(Outlet {
                name: t[0].clone(),
                from: t[1].clone(),
                to: t[2].clone(),
                offset: offset_or_star(r, 3, "Offset")?,
                kind,
                params: t[5..5 + np].to_vec(),
                gated: r.yes_no(5 + np, "Gated", false)?,
            });
        }
        "XSECTIONS" => {
            r.need(3, "Link Shape Geom1 ...")?;
            let shape = t[1].to_ascii_uppercase();
            if matches!(shape.as_str(), "IRREGULAR" | "STREET") {
                p.xsections.push(XSection {
                    link: t[0].clone(),
                    shape,
                    geom: [0.0; 4],
                    barrels: r.f_or(3, "Barrels", 1.0)?,
                    culvert: 0.0,
                    curve: Some(t[2].clone()),
                });
            } else if shape == "CUSTOM" {
                // SWMM reads Geom3 and Geom4 positions (ignored) before the barrels.
                r.need(4, "Link CUSTOM Geom1 Curve [Geom3 Geom4 Barrels Culvert]")?;
                p.xsections.push(XSection {
                    link: t[0].clone(),
                    shape,
                    geom: [r.f(2, "Geom1")?, 0.0, 0.0, 0.0],
                    barrels: r.f_or(6, "Barrels", 1.0)?,
                    culvert: r.f_or(7, "Culvert", 0.0)?,
                    curve: Some(t[3].clone()),
                });
            } else {
                if shape == "FORCE_MAIN" && r.f_or(3, "Geom2", 0.0)? <= 0.0 {
                    return Err(r.err(format!(
                        "field 4 (Geom2) expected a force main's positive C-factor or roughness height, found {}",
                        t.get(3).map_or("nothing", |s| s.as_str())
                    )));
                }
                p.xsections.push(XSection {
                    link: t[0].clone(),
                    shape,
                    geom: [
                        r.f(2, "Geom1")?,
                        r.f_or(3, "Geom2", 0.0)?,
                        r.f_or(4, "Geom3", 0.0)?,
                        r.f_or(5, "Geom4", 0.0)?,
                    ],
                    barrels: r.f_or(6, "Barrels", 1.0)?,
                    culvert: {
                        let c = r.f_or(7, "Culvert", 0.0)?;
                        if c < 0.0 {
                            return Err(r.err(format!(
                                "field 8 (Culvert) expected a culvert code >= 0, found {c}"
                            )));
                        }
                        c
                    },
                    curve: None,
                });
            }
        }
        "LOSSES" => {
            r.need(4, "Link Kentry Kexit Kavg [Flap Seepage]")?;
            p.losses.push(Loss {
                link: t[0].clone(),
                entry: r.f(1, "Kentry")?,
                exit: r.f(2, "Kexit")?,
                avg: r.f(3, "Kavg")?,
                flap_gate: r.yes_no(4, "Flap", false)?,
                seepage: r.f_or(5, "Seepage", 0.0)?,
            });
        }
        "CURVES" => {
            r.need(2, "Name [Type] X Y ...")?;
            let name = &t[0];
            let starts_new = p.curves.last().is_none_or(|c| &c.name != name);
            let mut i = 1;
            let kind = if parse_num(&t[1]).is_none() {
                i = 2;
                t[1].to_ascii_uppercase()
            } else if let Some((n, k)) = pending_curve.as_ref().filter(|(n, _)| n == name) {
                let _ = n;
                k.clone()
            } else {
                String::new()
            };
            if !(t.len() - i).is_multiple_of(2) {
                return Err(r.err(format!(
                    "curve '{name}' expected pairs of X Y values, found {} values",
                    t.len() - i
                )));
            }
            let mut pts = Vec::new();
            while i + 1 < t.len() {
                pts.push((r.f(i, "X")?, r.f(i + 1, "Y")?));
                i += 2;
            }
            if starts_new {
                *pending_curve = Some((name.clone(), kind.clone()));
                p.curves.push(Curve {
                    name: name.clone(),
                    kind,
                    points: pts,
                });
            } else if let Some(c) = p.curves.last_mut() {
                c.points.extend(pts);
            }
        }
        "TRANSECTS" => parse_transect_row(p, r, &mut st.nc, &mut st.nc_ready)?,
        "TIMESERIES" => {
            r.need(2, "Name [Date] Time Value ... | Name FILE Path")?;
            let name = &t[0];
            if t[1].eq_ignore_ascii_case("FILE") {
                r.need(3, "Name FILE Path")?;
                p.timeseries.push(Timeseries {
                    name: name.clone(),
                    data: TsData::File(t[2].clone()),
                });
                return Ok(());
            }
            let mut pts = Vec::new();
            let mut i = 1;
            while i < t.len() {
                // A token that reads as a date is one (SWMM table.c); one with
                // a slash that does not is a malformed date, not a time.
                let date = if let Some(d) = parse_date(&t[i]) {
                    i += 1;
                    Some(d)
                } else if t[i].contains('/') {
                    return Err(r.err(format!(
                        "field {} expected a date mm/dd/yyyy, found '{}'",
                        i + 1,
                        t[i]
                    )));
                } else {
                    None
                };
                let tt = t
                    .get(i)
                    .ok_or_else(|| r.err("expected a time after the date".into()))?;
                let hours = parse_hours(tt).ok_or_else(|| {
                    r.err(format!(
                        "field {} expected a time (hh:mm or hours), found '{tt}'",
                        i + 1
                    ))
                })?;
                let value = r.f(i + 1, "Value")?;
                pts.push(TsPoint { date, hours, value });
                i += 2;
            }
            match p.timeseries.last_mut() {
                Some(ts) if &ts.name == name => match &mut ts.data {
                    TsData::Points(v) => v.extend(pts),
                    TsData::File(_) => {
                        return Err(
                            r.err(format!("time series '{name}' mixes FILE and inline data"))
                        );
                    }
                },
                _ => p.timeseries.push(Timeseries {
                    name: name.clone(),
                    data: TsData::Points(pts),
                }),
            }
        }
        "PATTERNS" => {
            r.need(2, "Name [Type] Factors...")?;
            let name = &t[0];
            let (kind, start) = if parse_num(&t[1]).is_none() {
                (Some(t[1].to_ascii_uppercase()), 2)
            } else {
                (None, 1)
            };
            let mut f = Vec::new();
            for i in start..t.len() {
                f.push(r.f(i, "Factor")?);
            }
            match p.patterns.last_mut() {
                Some(pt) if &pt.name == name && kind.is_none() => pt.factors.extend(f),
                _ => p.patterns.push(Pattern {
                    name: name.clone(),
                    kind: kind.ok_or_else(|| {
                        r.err(format!(
                            "pattern '{name}' expected a type (MONTHLY, DAILY, HOURLY, WEEKEND)"
                        ))
                    })?,
                    factors: f,
                }),
            }
        }
        "DWF" => {
            r.need(3, "Node Constituent Baseline [Patterns]")?;
            p.dwf.push(Dwf {
                node: t[0].clone(),
                constituent: t[1].to_ascii_uppercase(),
                base: r.f(2, "Baseline")?,
                patterns: t[3..].to_vec(),
            });
        }
        "INFLOWS" => {
            r.need(
                3,
                "Node Constituent TimeSeries [Type Mfactor Sfactor Baseline Pattern]",
            )?;
            p.inflows.push(Inflow {
                node: t[0].clone(),
                constituent: t[1].to_ascii_uppercase(),
                timeseries: t[2].clone(),
                kind: t
                    .get(3)
                    .map(|s| s.to_ascii_uppercase())
                    .unwrap_or_else(|| "FLOW".into()),
                mfactor: r.f_or(4, "Mfactor", 1.0)?,
                sfactor: r.f_or(5, "Sfactor", 1.0)?,
                baseline: r.f_or(6, "Baseline", 0.0)?,
                pattern: r.s(7),
            });
        }
        "EVAPORATION" => parse_evaporation(&mut p.evaporation, r)?,
        "TEMPERATURE" => parse_temperature(&mut p.temperature, r)?,
        "ADJUSTMENTS" => parse_adjustment(&mut p.adjustments, &p.subcatchments, r)?,
        "CONTROLS" => p
            .controls
            .push(t.iter().map(|s| q(s)).collect::<Vec<_>>().join(" ")),
        "COORDINATES" | "VERTICES" | "POLYGONS" => {
            r.need(3, "Name X Y")?;
            let v = (t[0].clone(), r.f(1, "X")?, r.f(2, "Y")?);
            match r.section {
                "COORDINATES" => p.coordinates.push(v),
                "VERTICES" => p.vertices.push(v),
                _ => p.polygons.push(v),
            }
        }
        other => {
            if let Some(s) = p.raw_sections.iter_mut().rev().find(|s| s.name == other) {
                s.rows.push(t.clone());
            }
        }
    }
    Ok(())
}

/// `[EVAPORATION]` rows (SWMM 5.2 User's Manual, Appendix D).
fn parse_evaporation(e: &mut Evaporation, r: &Row) -> Result<(), InpError> {
    let t = &r.tok;
    let kw = t[0].to_ascii_uppercase();
    let need_arg = |what: &str| r.need(2, &format!("{kw} {what}"));
    match kw.as_str() {
        "CONSTANT" => {
            need_arg("Rate")?;
            e.source = Some(EvapSource::Constant(r.f(1, "Rate")?));
        }
        "MONTHLY" => e.source = Some(EvapSource::Monthly(r.numbers(1, 12, "monthly rates")?)),
        "TIMESERIES" => {
            need_arg("Series")?;
            e.source = Some(EvapSource::Timeseries(t[1].clone()));
        }
        "TEMPERATURE" => e.source = Some(EvapSource::Temperature),
        "FILE" => {
            let pan = if t.len() > 1 {
                r.numbers(1, 12, "monthly pan coefficients")?
            } else {
                Vec::new()
            };
            e.source = Some(EvapSource::File(pan));
        }
        "RECOVERY" => {
            need_arg("Pattern")?;
            e.recovery = Some(t[1].clone());
        }
        "DRY_ONLY" => {
            need_arg("YES/NO")?;
            e.dry_only = Some(r.yes_no(1, "DRY_ONLY", false)?);
        }
        other => {
            return Err(r.err(format!(
                "field 1 expected CONSTANT, MONTHLY, TIMESERIES, TEMPERATURE, FILE, RECOVERY or DRY_ONLY, found '{other}'"
            )));
        }
    }
    Ok(())
}

/// `[TEMPERATURE]` rows: the source is typed, the snowmelt rows are checked
/// and kept as tokens.
fn parse_temperature(tp: &mut Temperature, r: &Row) -> Result<(), InpError> {
    let t = &r.tok;
    let kw = t[0].to_ascii_uppercase();
    match kw.as_str() {
        "TIMESERIES" => {
            r.need(2, "TIMESERIES Series")?;
            tp.source = Some(TempSource::Timeseries(t[1].clone()));
        }
        "FILE" => {
            r.need(2, "FILE Path [Start Units]")?;
            let units = match t.get(3) {
                None => None,
                Some(u) => {
                    let u = u.to_ascii_uppercase();
                    if !matches!(u.as_str(), "C10" | "C" | "F") {
                        return Err(r.err(format!(
                            "field 4 (Units) expected C10, C or F, found '{}'",
                            t[3]
                        )));
                    }
                    Some(u)
                }
            };
            tp.source = Some(TempSource::File {
                path: t[1].clone(),
                start: r.date_or_star(2, "Start")?,
                units,
            });
        }
        "WINDSPEED" => {
            r.need(2, "WINDSPEED MONTHLY v1..v12 | WINDSPEED FILE")?;
            if !t[1].eq_ignore_ascii_case("FILE") {
                r.numbers(2, 12, "monthly wind speeds")?;
            }
            tp.rows.push(t.clone());
        }
        "SNOWMELT" => {
            r.numbers(1, 6, "Stemp ATIwt RNM Elev Lat DTLong")?;
            tp.rows.push(t.clone());
        }
        "ADC" => {
            r.need(12, "ADC IMPERVIOUS|PERVIOUS f1..f10")?;
            r.numbers(2, 10, "areal depletion fractions")?;
            tp.rows.push(t.clone());
        }
        other => {
            return Err(r.err(format!(
                "field 1 expected TIMESERIES, FILE, WINDSPEED, SNOWMELT or ADC, found '{other}'"
            )));
        }
    }
    Ok(())
}

/// `[ADJUSTMENTS]` rows: twelve monthly values, or a subcatchment and a pattern.
fn parse_adjustment(
    a: &mut Adjustments,
    defined_subcatch: &[Subcatchment],
    r: &Row,
) -> Result<(), InpError> {
    let t = &r.tok;
    if t.len() == 1 {
        return Ok(());
    }
    let kw = t[0].to_ascii_uppercase();
    // SWMM matches these keywords by their leading letters.
    let monthly = ["TEMP", "EVAP", "RAIN", "CONDUCT"]
        .iter()
        .zip(["TEMPERATURE", "EVAPORATION", "RAINFALL", "CONDUCTIVITY"])
        .find(|(k, _)| kw.starts_with(*k));
    if let Some((_, name)) = monthly {
        a.monthly.push(MonthlyAdjustment {
            kind: name.to_string(),
            values: r.numbers(1, 12, "monthly adjustments")?,
        });
        return Ok(());
    }
    let kind = ["N-PERV", "DSTORE", "INFIL"]
        .into_iter()
        .find(|k| kw.starts_with(k))
        .ok_or_else(|| {
            r.err(format!(
                "field 1 expected TEMPERATURE, EVAPORATION, RAINFALL, CONDUCTIVITY, N-PERV, DSTORE or INFIL, found '{}'",
                t[0]
            ))
        })?;
    r.need(3, &format!("{kind} Subcatch Pattern"))?;
    if !defined_subcatch
        .iter()
        .any(|s| s.name.eq_ignore_ascii_case(&t[1]))
    {
        // SWMM reads sections in file order and resets these patterns when it
        // reads the subcatchment, so such a row would silently do nothing.
        return Err(r.err(format!(
            "field 2 (Subcatch) '{}' is not in an earlier [SUBCATCHMENTS] section; put [ADJUSTMENTS] after it",
            t[1]
        )));
    }
    a.subcatch.push(SubcatchAdjustment {
        kind: kind.to_string(),
        subcatch: t[1].clone(),
        pattern: t[2].clone(),
    });
    Ok(())
}

/// Seepage values after a storage unit's SurDepth and Fevap: Ksat alone, or
/// Psi Ksat IMD with Psi >= 0, Ksat >= 0 and 0 <= IMD <= 1 (SWMM exfil.c).
fn check_seepage(r: &Row, first: usize, extra: &[f64]) -> Result<(), InpError> {
    let seep = extra.get(2..).unwrap_or(&[]);
    let field = |k: usize, name: &str, rule: &str| {
        r.err(format!(
            "field {} ({name}) {rule}, found {}",
            first + 3 + k,
            seep[k]
        ))
    };
    match seep.len() {
        0 => Ok(()),
        1 if seep[0] < 0.0 => Err(field(0, "Ksat", "must not be negative")),
        1 => Ok(()),
        2 => Err(r.err(format!(
            "field {} (IMD) missing: seepage takes Ksat alone or Psi Ksat IMD",
            first + 5
        ))),
        _ if seep[1] == 0.0 => Ok(()),
        _ if seep[0] < 0.0 => Err(field(0, "Psi", "must not be negative")),
        _ if seep[1] < 0.0 => Err(field(1, "Ksat", "must not be negative")),
        _ if !(0.0..=1.0).contains(&seep[2]) => Err(field(2, "IMD", "must be in [0, 1]")),
        _ => Ok(()),
    }
}

/// One NC, X1 or GR line of `[TRANSECTS]` (SWMM transect.c).
fn parse_transect_row(
    p: &mut Project,
    r: &Row,
    nc: &mut [f64; 3],
    nc_ready: &mut bool,
) -> Result<(), InpError> {
    let t = &r.tok;
    match t[0].to_ascii_uppercase().as_str() {
        "NC" => {
            r.need(4, "NC Nleft Nright Nchannel")?;
            let names = ["Nleft", "Nright", "Nchannel"];
            for (k, name) in names.iter().enumerate() {
                let v = r.f(k + 1, name)?;
                if v < 0.0 {
                    return Err(r.err(format!(
                        "field {} ({name}) must not be negative, found {v}",
                        k + 2
                    )));
                }
                if v > 0.0 {
                    nc[k] = v;
                }
            }
            for k in 0..2 {
                if nc[k] == 0.0 {
                    nc[k] = nc[2];
                }
            }
            *nc_ready = true;
        }
        "X1" => {
            r.need(10, "X1 Name Nsta Xleft Xright 0 0 Lfactor Wfactor Eoffset")?;
            if !*nc_ready {
                return Err(r.err(
                    "an NC line must precede each X1 line (it starts the transect's data)".into(),
                ));
            }
            let names = [
                "Nsta", "Xleft", "Xright", "unused", "unused", "Lfactor", "Wfactor", "Eoffset",
            ];
            let mut x1 = [0.0; 8];
            for (k, name) in names.iter().enumerate() {
                x1[k] = r.f(k + 2, name)?;
            }
            *nc_ready = false;
            p.transects.push(Transect {
                name: t[1].clone(),
                n: *nc,
                x1,
                points: Vec::new(),
            });
        }
        "GR" => {
            if !(t.len() - 1).is_multiple_of(2) {
                return Err(r.err(format!(
                    "GR expected pairs of Elevation Station values, found {} values",
                    t.len() - 1
                )));
            }
            let Some(tr) = p.transects.last_mut() else {
                return Err(r.err("GR line before any X1 line".into()));
            };
            let mut i = 1;
            while i + 1 < t.len() {
                let e = r.f(i, "Elevation")?;
                let x = r.f(i + 1, "Station")?;
                if tr.points.last().is_some_and(|&(_, last)| x < last) {
                    return Err(r.err(format!(
                        "field {} (Station) {x} is left of the previous station",
                        i + 2
                    )));
                }
                tr.points.push((e, x));
                i += 2;
            }
        }
        o => {
            return Err(r.err(format!("field 1 expected NC, X1 or GR, found '{o}'")));
        }
    }
    Ok(())
}

fn offset_or_star(r: &Row, i: usize, field: &str) -> Result<f64, InpError> {
    // SWMM accepts '*' for an offset meaning "same as the node invert" (elevation offsets).
    if r.tok.get(i).map(|s| s.as_str()) == Some("*") {
        Ok(0.0)
    } else {
        r.f(i, field)
    }
}

/// Writes a [`Project`] as `.inp` text that [`parse`] reads back to an equal value.
pub fn write(p: &Project) -> String {
    let mut o = String::new();
    let sec = |o: &mut String, name: &str, rows: Vec<String>| {
        let _ = writeln!(o, "[{name}]");
        for r in rows {
            let _ = writeln!(o, "{r}");
        }
        o.push('\n');
    };
    let join = |v: Vec<String>| v.join(" ");
    sec(&mut o, "TITLE", p.title.clone());
    sec(
        &mut o,
        "OPTIONS",
        p.options
            .iter()
            .map(|e| format!("{:<20} {}", q(&e.key), e.value))
            .collect(),
    );
    sec(
        &mut o,
        "RAINGAGES",
        p.raingages
            .iter()
            .map(|g| {
                let src = match &g.source {
                    GageSource::Timeseries(n) => format!("TIMESERIES {}", q(n)),
                    GageSource::File {
                        path,
                        station,
                        units,
                        start,
                    } => {
                        let mut v = format!("FILE {} {} {}", q(path), q(station), q(units));
                        if let Some(d) = start {
                            v.push(' ');
                            v.push_str(&fmt_date(*d));
                        }
                        v
                    }
                };
                format!(
                    "{} {} {} {} {src}",
                    q(&g.name),
                    q(&g.format),
                    fmt_hours(g.interval_s / 3600.0),
                    g.snow_catch
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "SUBCATCHMENTS",
        p.subcatchments
            .iter()
            .map(|s| {
                let mut v = format!(
                    "{} {} {} {} {} {} {} {}",
                    q(&s.name),
                    q(&s.gage),
                    q(&s.outlet),
                    s.area,
                    s.imperv_pct,
                    s.width,
                    s.slope_pct,
                    s.curb_len
                );
                if let Some(sp) = &s.snowpack {
                    v.push(' ');
                    v.push_str(&q(sp));
                }
                v
            })
            .collect(),
    );
    sec(
        &mut o,
        "SUBAREAS",
        p.subareas
            .iter()
            .map(|s| {
                let mut v = format!(
                    "{} {} {} {} {} {} {}",
                    q(&s.subcatch),
                    s.n_imperv,
                    s.n_perv,
                    s.s_imperv,
                    s.s_perv,
                    s.pct_zero,
                    q(&s.route_to)
                );
                if let Some(x) = s.pct_routed {
                    let _ = write!(v, " {x}");
                }
                v
            })
            .collect(),
    );
    sec(
        &mut o,
        "INFILTRATION",
        p.infiltration
            .iter()
            .map(|s| {
                let mut v = vec![q(&s.subcatch)];
                v.extend(s.params.iter().map(|x| x.to_string()));
                if let Some(m) = &s.method {
                    v.push(m.clone());
                }
                join(v)
            })
            .collect(),
    );
    sec(
        &mut o,
        "JUNCTIONS",
        p.junctions
            .iter()
            .map(|j| {
                format!(
                    "{} {} {} {} {} {}",
                    q(&j.name),
                    j.invert,
                    j.max_depth,
                    j.init_depth,
                    j.sur_depth,
                    j.ponded_area
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "OUTFALLS",
        p.outfalls
            .iter()
            .map(|f| {
                let k = match &f.kind {
                    OutfallKind::Free => "FREE".to_string(),
                    OutfallKind::Normal => "NORMAL".to_string(),
                    OutfallKind::Fixed(s) => format!("FIXED {s}"),
                    OutfallKind::Tidal(c) => format!("TIDAL {}", q(c)),
                    OutfallKind::Timeseries(c) => format!("TIMESERIES {}", q(c)),
                };
                let mut v = format!("{} {} {k} {}", q(&f.name), f.invert, yn(f.gated));
                if let Some(rt) = &f.route_to {
                    v.push(' ');
                    v.push_str(&q(rt));
                }
                v
            })
            .collect(),
    );
    sec(
        &mut o,
        "STORAGE",
        p.storage
            .iter()
            .map(|s| {
                let shape = match &s.shape {
                    StorageShape::Functional { a, b, c } => format!("FUNCTIONAL {a} {b} {c}"),
                    StorageShape::Tabular(c) => format!("TABULAR {}", q(c)),
                    StorageShape::Other { shape, params } => {
                        format!("{shape} {} {} {}", params[0], params[1], params[2])
                    }
                };
                let mut v = format!(
                    "{} {} {} {} {shape}",
                    q(&s.name),
                    s.invert,
                    s.max_depth,
                    s.init_depth
                );
                for x in &s.extra {
                    let _ = write!(v, " {x}");
                }
                v
            })
            .collect(),
    );
    sec(
        &mut o,
        "DIVIDERS",
        p.dividers
            .iter()
            .map(|d| {
                let mut v = vec![
                    q(&d.name),
                    d.invert.to_string(),
                    q(&d.diverted_link),
                    q(&d.kind),
                ];
                v.extend(d.kind_params.iter().map(|s| q(s)));
                v.extend(d.node_params.iter().map(|x| x.to_string()));
                join(v)
            })
            .collect(),
    );
    sec(
        &mut o,
        "CONDUITS",
        p.conduits
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} {} {} {} {} {} {}",
                    q(&c.name),
                    q(&c.from),
                    q(&c.to),
                    c.length,
                    c.roughness,
                    c.in_offset,
                    c.out_offset,
                    c.init_flow,
                    c.max_flow
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "PUMPS",
        p.pumps
            .iter()
            .map(|x| {
                format!(
                    "{} {} {} {} {} {} {}",
                    q(&x.name),
                    q(&x.from),
                    q(&x.to),
                    q(&x.curve),
                    if x.on { "ON" } else { "OFF" },
                    x.startup,
                    x.shutoff
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "ORIFICES",
        p.orifices
            .iter()
            .map(|x| {
                format!(
                    "{} {} {} {} {} {} {} {}",
                    q(&x.name),
                    q(&x.from),
                    q(&x.to),
                    q(&x.kind),
                    x.offset,
                    x.cd,
                    yn(x.gated),
                    x.close_time
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "WEIRS",
        p.weirs
            .iter()
            .map(|x| {
                let mut v = format!(
                    "{} {} {} {} {} {} {} {} {} {}",
                    q(&x.name),
                    q(&x.from),
                    q(&x.to),
                    q(&x.kind),
                    x.crest,
                    x.cd,
                    yn(x.gated),
                    x.end_contractions,
                    x.cd2,
                    yn(x.can_surcharge)
                );
                for e in &x.extra {
                    v.push(' ');
                    v.push_str(&q(e));
                }
                v
            })
            .collect(),
    );
    sec(
        &mut o,
        "OUTLETS",
        p.outlets
            .iter()
            .map(|x| {
                let mut v = vec![
                    q(&x.name),
                    q(&x.from),
                    q(&x.to),
                    x.offset.to_string(),
                    q(&x.kind),
                ];
                v.extend(x.params.iter().map(|s| q(s)));
                v.push(yn(x.gated).into());
                join(v)
            })
            .collect(),
    );
    sec(
        &mut o,
        "XSECTIONS",
        p.xsections
            .iter()
            .map(|x| match (x.shape.as_str(), &x.curve) {
                ("IRREGULAR" | "STREET", Some(c)) => {
                    format!("{} {} {} {}", q(&x.link), q(&x.shape), q(c), x.barrels)
                }
                ("CUSTOM", Some(c)) => {
                    format!(
                        "{} CUSTOM {} {} 0 0 {} {}",
                        q(&x.link),
                        x.geom[0],
                        q(c),
                        x.barrels,
                        x.culvert
                    )
                }
                _ => format!(
                    "{} {} {} {} {} {} {} {}",
                    q(&x.link),
                    q(&x.shape),
                    x.geom[0],
                    x.geom[1],
                    x.geom[2],
                    x.geom[3],
                    x.barrels,
                    x.culvert
                ),
            })
            .collect(),
    );
    sec(
        &mut o,
        "LOSSES",
        p.losses
            .iter()
            .map(|l| {
                format!(
                    "{} {} {} {} {} {}",
                    q(&l.link),
                    l.entry,
                    l.exit,
                    l.avg,
                    yn(l.flap_gate),
                    l.seepage
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "CURVES",
        p.curves
            .iter()
            .flat_map(|c| {
                let mut rows = Vec::new();
                if c.points.is_empty() {
                    rows.push(format!("{} {}", q(&c.name), q(&c.kind)));
                }
                for (i, (x, y)) in c.points.iter().enumerate() {
                    if i == 0 && !c.kind.is_empty() {
                        rows.push(format!("{} {} {x} {y}", q(&c.name), q(&c.kind)));
                    } else {
                        rows.push(format!("{} {x} {y}", q(&c.name)));
                    }
                }
                rows
            })
            .collect(),
    );
    sec(
        &mut o,
        "TRANSECTS",
        p.transects
            .iter()
            .flat_map(|tr| {
                let mut rows = vec![
                    format!("NC {} {} {}", tr.n[0], tr.n[1], tr.n[2]),
                    format!(
                        "X1 {} {}",
                        q(&tr.name),
                        tr.x1
                            .iter()
                            .map(|v| v.to_string())
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                ];
                for chunk in tr.points.chunks(5) {
                    let pts: Vec<String> = chunk.iter().map(|(e, x)| format!("{e} {x}")).collect();
                    rows.push(format!("GR {}", pts.join(" ")));
                }
                rows
            })
            .collect(),
    );
    sec(
        &mut o,
        "TIMESERIES",
        p.timeseries
            .iter()
            .flat_map(|ts| match &ts.data {
                TsData::File(f) => vec![format!("{} FILE {}", q(&ts.name), q(f))],
                TsData::Points(v) => v
                    .iter()
                    .map(|pt| {
                        let d = pt.date.map(|d| fmt_date(d) + " ").unwrap_or_default();
                        format!("{} {d}{} {}", q(&ts.name), fmt_hours(pt.hours), pt.value)
                    })
                    .collect(),
            })
            .collect(),
    );
    sec(
        &mut o,
        "PATTERNS",
        p.patterns
            .iter()
            .map(|pt| {
                let mut v = vec![q(&pt.name), q(&pt.kind)];
                v.extend(pt.factors.iter().map(|x| x.to_string()));
                join(v)
            })
            .collect(),
    );
    sec(
        &mut o,
        "DWF",
        p.dwf
            .iter()
            .map(|d| {
                let mut v = vec![q(&d.node), q(&d.constituent), d.base.to_string()];
                v.extend(d.patterns.iter().map(|s| q(s)));
                join(v)
            })
            .collect(),
    );
    sec(
        &mut o,
        "INFLOWS",
        p.inflows
            .iter()
            .map(|i| {
                // SWMM rejects an empty pattern name, so it is written only when set.
                let mut v = format!(
                    "{} {} {} {} {} {} {}",
                    q(&i.node),
                    q(&i.constituent),
                    q(&i.timeseries),
                    q(&i.kind),
                    i.mfactor,
                    i.sfactor,
                    i.baseline
                );
                if !i.pattern.is_empty() {
                    v.push(' ');
                    v.push_str(&q(&i.pattern));
                }
                v
            })
            .collect(),
    );
    let nums = |v: &[f64]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let ev = &p.evaporation;
    let mut rows = Vec::new();
    match &ev.source {
        None => {}
        Some(EvapSource::Constant(x)) => rows.push(format!("CONSTANT {x}")),
        Some(EvapSource::Monthly(v)) => rows.push(format!("MONTHLY {}", nums(v))),
        Some(EvapSource::Timeseries(n)) => rows.push(format!("TIMESERIES {}", q(n))),
        Some(EvapSource::Temperature) => rows.push("TEMPERATURE".into()),
        Some(EvapSource::File(v)) => rows.push(format!("FILE {}", nums(v)).trim_end().into()),
    }
    if let Some(n) = &ev.recovery {
        rows.push(format!("RECOVERY {}", q(n)));
    }
    if let Some(b) = ev.dry_only {
        rows.push(format!("DRY_ONLY {}", yn(b)));
    }
    sec(&mut o, "EVAPORATION", rows);
    let mut rows = Vec::new();
    match &p.temperature.source {
        None => {}
        Some(TempSource::Timeseries(n)) => rows.push(format!("TIMESERIES {}", q(n))),
        Some(TempSource::File { path, start, units }) => {
            let mut v = format!("FILE {}", q(path));
            if start.is_some() || units.is_some() {
                v.push(' ');
                v.push_str(&start.map(fmt_date).unwrap_or_else(|| "*".into()));
            }
            if let Some(u) = units {
                v.push(' ');
                v.push_str(u);
            }
            rows.push(v);
        }
    }
    rows.extend(
        p.temperature
            .rows
            .iter()
            .map(|r| join(r.iter().map(|t| q(t)).collect())),
    );
    sec(&mut o, "TEMPERATURE", rows);
    let mut rows: Vec<String> = p
        .adjustments
        .monthly
        .iter()
        .map(|a| format!("{} {}", a.kind, nums(&a.values)))
        .collect();
    rows.extend(
        p.adjustments
            .subcatch
            .iter()
            .map(|a| format!("{} {} {}", a.kind, q(&a.subcatch), q(&a.pattern))),
    );
    sec(&mut o, "ADJUSTMENTS", rows);
    sec(&mut o, "CONTROLS", p.controls.clone());
    for (name, v) in [
        ("COORDINATES", &p.coordinates),
        ("VERTICES", &p.vertices),
        ("POLYGONS", &p.polygons),
    ] {
        sec(
            &mut o,
            name,
            v.iter()
                .map(|(n, x, y)| format!("{} {x} {y}", q(n)))
                .collect(),
        );
    }
    for s in &p.raw_sections {
        sec(
            &mut o,
            &s.name,
            s.rows
                .iter()
                .map(|r| join(r.iter().map(|t| q(t)).collect()))
                .collect(),
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = include_str!("../tests/data/small.inp");

    #[test]
    fn parses_small_model() {
        let p = parse(SMALL).unwrap();
        assert_eq!(p.title, vec!["Small test"]);
        assert_eq!(p.flow_units(), FlowUnits::Cms);
        assert_eq!(p.junctions.len(), 3);
        assert_eq!(p.junctions[2].name, "J 3");
        assert_eq!(p.junctions[2].ponded_area, 50.0);
        assert_eq!(p.junctions[1].max_depth, 3.0);
        assert_eq!(p.junctions[1].init_depth, 0.0);
        assert_eq!(p.outfalls[1].kind, OutfallKind::Fixed(7.5));
        assert!(p.outfalls[1].gated);
        assert_eq!(p.conduits[1].init_flow, 0.0);
        assert_eq!(p.xsections[2].geom, [1.0, 2.0, 1.0, 1.0]);
        assert_eq!(p.xsections[2].barrels, 2.0);
        let TsData::Points(ts) = &p.timeseries[0].data else {
            panic!()
        };
        assert_eq!(ts.len(), 3);
        assert_eq!(ts[2].hours, 2.5);
        let TsData::Points(ts2) = &p.timeseries[1].data else {
            panic!()
        };
        assert_eq!(ts2[1].date, Some((2020, 1, 1)));
        assert_eq!(ts2[1].hours, 1.5);
        assert_eq!(p.curves[0].kind, "PUMP2");
        assert_eq!(p.curves[0].points, vec![(0.0, 0.1), (1.0, 0.2), (2.0, 0.3)]);
        assert_eq!(p.patterns[0].factors.len(), 12);
        assert_eq!(p.unknown_sections(), vec!["MY_EXTENSION"]);
        assert!(p.raw_section("POLLUTANTS").unwrap().known);
    }

    #[test]
    fn runoff_and_climate_fields_parse() {
        let p = parse(SMALL).unwrap();
        assert_eq!(
            p.raingages[0].source,
            GageSource::File {
                path: "rain.dat".into(),
                station: "STA1".into(),
                units: "MM".into(),
                start: Some((2019, 12, 31)),
            }
        );
        assert_eq!(p.subareas[0].route_to, "PERVIOUS");
        assert_eq!(p.subareas[0].pct_routed, Some(40.0));
        assert_eq!(p.outfalls[1].route_to.as_deref(), Some("S1"));
        assert!(matches!(&p.evaporation.source, Some(EvapSource::Monthly(v)) if v[11] == 12.0));
        assert_eq!(p.evaporation.recovery.as_deref(), Some("REC"));
        assert_eq!(p.evaporation.dry_only, Some(true));
        assert_eq!(
            p.temperature.source,
            Some(TempSource::File {
                path: "clim ate.dat".into(),
                start: Some((2020, 1, 1)),
                units: Some("C".into()),
            })
        );
        assert_eq!(p.temperature.snowmelt().map(|v| v[4]), Some(21.0));
        assert_eq!(p.adjustments.monthly[0].values[5], 1.2);
        assert_eq!(p.adjustments.subcatch[0].kind, "N-PERV");
        assert_eq!(p.timeseries[2].data, TsData::File("data/ts 3.dat".into()));
    }

    #[test]
    fn malformed_runoff_fields_name_section_line_and_field() {
        let cases = [
            (
                "[SUBAREAS]\nS1 0.01 0.1 1 1 25 SIDEWAYS\n",
                "SUBAREAS",
                "RouteTo",
            ),
            (
                "[SUBAREAS]\nS1 0.01 0.1 1 1 25 PERVIOUS 120\n",
                "SUBAREAS",
                "PctRouted",
            ),
            (
                "[RAINGAGES]\nG VOLUME 1:00 1 FILE r.dat S1 CM\n",
                "RAINGAGES",
                "Units",
            ),
            (
                "[RAINGAGES]\nG VOLUME 1:00 1 FILE r.dat S1 IN 13/01/2020\n",
                "RAINGAGES",
                "Start",
            ),
            (
                "[EVAPORATION]\nMONTHLY 1 2 3\n",
                "EVAPORATION",
                "monthly rates",
            ),
            ("[EVAPORATION]\nCONSTANT x\n", "EVAPORATION", "Rate"),
            ("[EVAPORATION]\nSOMETIMES 1\n", "EVAPORATION", "CONSTANT"),
            ("[EVAPORATION]\nDRY_ONLY MAYBE\n", "EVAPORATION", "DRY_ONLY"),
            ("[TEMPERATURE]\nFILE c.dat * K\n", "TEMPERATURE", "Units"),
            ("[ADJUSTMENTS]\nRAINFALL 1 1 1\n", "ADJUSTMENTS", "monthly"),
            ("[ADJUSTMENTS]\nN-PERV S9 P1\n", "ADJUSTMENTS", "Subcatch"),
        ];
        for (text, section, field) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!((e.section.as_str(), e.line), (section, 2), "{text}: {e}");
            assert!(e.message.contains(field), "{text}: {e}");
        }
    }

    #[test]
    fn round_trip_small() {
        let p = parse(SMALL).unwrap();
        let text = write(&p);
        let p2 = parse(&text).unwrap();
        assert_eq!(p, p2);
        assert!(text.contains("[MY_EXTENSION]"));
    }

    #[test]
    fn errors_name_section_line_and_field() {
        let bad = "[OPTIONS]\nFLOW_UNITS CMS\n\n[JUNCTIONS]\nJ1 10 abc\n";
        let e = parse(bad).unwrap_err();
        assert_eq!(e.section, "JUNCTIONS");
        assert_eq!(e.line, 5);
        assert!(e.message.contains("MaxDepth"), "{e}");
        let e = parse("[CONDUITS]\nC1 A B 100\n").unwrap_err();
        assert_eq!((e.section.as_str(), e.line), ("CONDUITS", 2));
        assert!(e.message.contains("at least 7"), "{e}");
        let e = parse("[OPTIONS]\nFLOW_UNITS XYZ\n").unwrap_err();
        assert!(e.message.contains("FLOW_UNITS"));
        let e = parse("[OUTFALLS]\nO1 5 WEIRD\n").unwrap_err();
        assert!(e.message.contains("FREE"), "{e}");
        let e = parse("[TIMESERIES]\nT 1:00\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("J1 1 2\n").unwrap_err();
        assert!(e.message.contains("before the first"));
        let e = parse("[CURVES]\nC1 STORAGE 1 2 3\n").unwrap_err();
        assert!(e.message.contains("pairs"), "{e}");
        // Storage seepage: Ksat alone or Psi Ksat IMD, with IMD a fraction.
        let e = parse("[STORAGE]\nS1 10 3 0 FUNCTIONAL 100 0 0 0 0 4 0.5\n").unwrap_err();
        assert_eq!((e.section.as_str(), e.line), ("STORAGE", 2));
        assert!(e.message.contains("field 13 (IMD)"), "{e}");
        let e = parse("[STORAGE]\n\nS1 10 3 0 TABULAR C 0 0 4 0.5 1.5\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("field 11 (IMD)"), "{e}");
        let e = parse("[STORAGE]\nS1 10 3 0 TABULAR C 0 0 -1\n").unwrap_err();
        assert!(e.message.contains("field 9 (Ksat)"), "{e}");
        assert!(parse("[STORAGE]\nS1 10 3 0 TABULAR C 0 0 4 0 0.3\n").is_ok());
        // Transects: NC before X1, pairs on GR lines, stations left to right.
        let e = parse("[TRANSECTS]\nX1 T 2 0 10 0 0 0 0\n").unwrap_err();
        assert!(e.message.contains("at least 10"), "{e}");
        let e = parse("[TRANSECTS]\nX1 T 2 0 10 0 0 0 0 0 0\n").unwrap_err();
        assert!(e.message.contains("NC line"), "{e}");
        let e = parse("[TRANSECTS]\nNC 0 0 0.03\nX1 T 2 0 10 0 0 0 0 x 0\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("field 10 (Eoffset)"), "{e}");
        let e =
            parse("[TRANSECTS]\nNC 0 0 0.03\nX1 T 2 0 10 0 0 0 0 0 0\nGR 1 5 0 4\n").unwrap_err();
        assert!(e.message.contains("field 5 (Station)"), "{e}");
        let e = parse("[TRANSECTS]\nNC 0 -1 0.03\n").unwrap_err();
        assert!(e.message.contains("field 3 (Nright)"), "{e}");
        let e = parse("[XSECTIONS]\nK1 CIRCULAR 1 0 0 0 1 -2\n").unwrap_err();
        assert!(e.message.contains("field 8 (Culvert)"), "{e}");
        let e = parse("[WEIRS]\nR1 A B ROADWAY 1 3 NO 0 0 NO wide PAVED\n").unwrap_err();
        assert!(e.message.contains("field 11 (RoadWidth)"), "{e}");
        let e = parse("[XSECTIONS]\nF1 FORCE_MAIN 0.5 0\n").unwrap_err();
        assert!(e.line == 2 && e.message.contains("field 4 (Geom2)"), "{e}");
        let e = parse("[OPTIONS]\nFLOW_UNITS CMS\nSURCHARGE_METHOD SLOTTED\n").unwrap_err();
        assert!(e.line == 3 && e.message.contains("EXTRAN, SLOT"), "{e}");
        let e = parse("[OPTIONS]\nFORCE_MAIN_EQUATION HW\n").unwrap_err();
        assert!(e.message.contains("field 2 (FORCE_MAIN_EQUATION)"), "{e}");
    }

    #[test]
    fn tokenizer_handles_quotes_and_comments() {
        assert_eq!(tokenize("a \"b c\" d ; e f"), vec!["a", "b c", "d"]);
        assert_eq!(
            tokenize("J1 FLOW \"\" FLOW"),
            vec!["J1", "FLOW", "", "FLOW"]
        );
        assert!(tokenize(";; only comment").is_empty());
    }

    #[test]
    fn time_and_date_helpers() {
        assert_eq!(parse_hours("1:30"), Some(1.5));
        assert_eq!(parse_hours("00:00:36"), Some(0.01));
        assert_eq!(parse_hours("2.25"), Some(2.25));
        assert_eq!(parse_hours("1:99"), None);
        assert_eq!(parse_date("11/04/2015"), Some((2015, 11, 4)));
        assert_eq!(parse_date("Nov-04-2015"), Some((2015, 11, 4)));
        // A month of multi-byte letters is no month, and no panic.
        assert_eq!(parse_date("ÄÄ/01/2020"), None);
        assert_eq!(parse_date("Ä/01/2020"), None);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(fmt_hours(1.5), "1:30:00");
    }

    #[test]
    fn inline_time_series_take_every_date_form() {
        let p = parse("[TIMESERIES]\nT1 01-05-2020 0:00 1\nT1 Jan-05-2020 1:00 2\nT1 2:00 3\n")
            .unwrap();
        let TsData::Points(v) = &p.timeseries[0].data else {
            panic!("points expected");
        };
        assert_eq!(v[0].date, Some((2020, 1, 5)));
        assert_eq!(v[1].date, Some((2020, 1, 5)));
        assert_eq!((v[2].date, v[2].hours, v[2].value), (None, 2.0, 3.0));
        let e = parse("[TIMESERIES]\nT1 13/45/2020 0:00 1\n").unwrap_err();
        assert!(e.to_string().contains("expected a date"), "{e}");
    }

    #[test]
    fn unit_conversions() {
        assert!((FlowUnits::Cfs.flow_to_cms() - 0.3048_f64.powi(3)).abs() < 1e-15);
        assert_eq!(FlowUnits::Lps.flow_to_cms(), 0.001);
        assert!(FlowUnits::Mld.is_si());
        assert_eq!(FlowUnits::Gpm.length_to_m(), 0.3048);
    }
}
