//! Reader and writer for EPA SWMM 5 input files (`.inp`).
//!
//! The format is the one documented in the SWMM 5.2 User's Manual, Appendix D
//! ("Detailed Input File Format"): bracketed section headers, one object per
//! line, whitespace-separated fields, `;` starting a comment and double quotes
//! grouping a field that contains spaces.
//!
//! [`parse`] turns text into a [`Project`]; [`write()`] turns a [`Project`] back
//! into text that [`parse`] (and SWMM itself) reads to an equal value. Sections
//! that the engine uses are typed; every other section, known to SWMM or not,
//! is kept verbatim as token rows in [`Project::raw_sections`] so nothing is
//! lost on a round trip. Sections SWMM does not know are listed by
//! [`Project::unknown_sections`].
//!
//! Values are kept in the file's own units (see [`FlowUnits`]); conversion to
//! SI is done by the helpers on [`FlowUnits`].

mod read;
mod write;

pub use read::{parse, tokenize};
pub use write::write;

/// A parse error: which section and 1-based line, and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OptionEntry {
    /// Option keyword, upper-cased.
    pub key: String,
    /// Remaining tokens joined by one space.
    pub value: String,
}

/// Rain gauge data format (`[RAINGAGES]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Evaporation {
    /// Rate source (the last data line wins, as in SWMM); none means no evaporation.
    pub source: Option<EvapSource>,
    /// Monthly pattern scaling the infiltration recovery rate.
    pub recovery: Option<String>,
    /// Evaporation only in periods without rain.
    pub dry_only: Option<bool>,
}

/// Source of air temperatures (`[TEMPERATURE]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MonthlyAdjustment {
    /// TEMPERATURE, EVAPORATION, RAINFALL or CONDUCTIVITY.
    pub kind: String,
    /// January first.
    pub values: Vec<f64>,
}

/// One `[ADJUSTMENTS]` row assigning a monthly pattern to a subcatchment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SubcatchAdjustment {
    /// N-PERV, DSTORE or INFIL.
    pub kind: String,
    /// Subcatchment name.
    pub subcatch: String,
    /// Monthly pattern name.
    pub pattern: String,
}

/// `[ADJUSTMENTS]`: monthly climate adjustments and per-subcatchment patterns.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Adjustments {
    /// Monthly rows, in file order.
    pub monthly: Vec<MonthlyAdjustment>,
    /// Subcatchment pattern rows, in file order.
    pub subcatch: Vec<SubcatchAdjustment>,
}

/// A subcatchment (`[SUBCATCHMENTS]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Infiltration {
    /// Subcatchment name.
    pub subcatch: String,
    /// Numeric parameters in file order.
    pub params: Vec<f64>,
    /// Per-subcatchment method override (SWMM 5.2), if given.
    pub method: Option<String>,
}

/// A junction (`[JUNCTIONS]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Curve {
    /// Name.
    pub name: String,
    /// Curve type (STORAGE, PUMP1..PUMP5, RATING, TIDAL, ...).
    pub kind: String,
    /// (x, y) points in file order.
    pub points: Vec<(f64, f64)>,
}

/// One time series point.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TsPoint {
    /// Calendar date (year, month, day), if the row carried one.
    pub date: Option<(i32, u32, u32)>,
    /// Time in hours (from the date, or from simulation start when no date).
    pub hours: f64,
    /// Value.
    pub value: f64,
}

/// A time series (`[TIMESERIES]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timeseries {
    /// Name.
    pub name: String,
    /// Points, or an external file.
    pub data: TsData,
}

/// Data of a time series.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TsData {
    /// Inline points.
    Points(Vec<TsPoint>),
    /// External file path.
    File(String),
}

/// A time pattern (`[PATTERNS]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pattern {
    /// Name.
    pub name: String,
    /// MONTHLY, DAILY, HOURLY or WEEKEND.
    pub kind: String,
    /// Multipliers.
    pub factors: Vec<f64>,
}

/// Dry-weather inflow (`[DWF]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RawSection {
    /// Section name, upper-cased, without brackets.
    pub name: String,
    /// Whether SWMM 5.2 knows this section.
    pub known: bool,
    /// Token rows (comments removed).
    pub rows: Vec<Vec<String>>,
    /// 1-based line of the section's first header in the text it was read
    /// from (0 when made in code), for errors that name it.
    pub line: usize,
    /// 1-based line of each row, alongside `rows`.
    pub row_lines: Vec<usize>,
}

/// Sections are equal when their names and rows are: where they stood in a
/// file is not part of the model, so a written and re-read project equals
/// the original.
impl PartialEq for RawSection {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.known == other.known && self.rows == other.rows
    }
}

/// A whole SWMM input file.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
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

/// The known section (SWMM 5.2's) whose name is nearest `name` by edit
/// distance, for suggesting what a misspelt header meant.
pub fn nearest_section(name: &str) -> &'static str {
    let name = name.to_ascii_uppercase();
    read::TYPED
        .iter()
        .chain(KNOWN_RAW)
        .copied()
        .min_by_key(|k| edit_distance(&name, k))
        .unwrap_or("TITLE")
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

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
