//! The 11 urban layers of Hanoi's smart-city plan (Đề án, seeds 000:490–523) and the
//! departments that own them (000:529–530: "each layer is a data domain", owned by a department).

use serde::{Deserialize, Serialize};

/// One of the 11 urban layers. Every feature of the city model belongs to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Layer {
    /// (1) Nhà & Công trình: homes, apartment blocks, offices, construction, fire-protection works.
    Building,
    /// (2) Cây xanh & Công viên: street trees, heritage trees, parks, gardens.
    Green,
    /// (3) Giao thông – Đường bộ: streets, junctions, signals, traffic cameras and counters, parking, bus.
    TrafficRoad,
    /// (4) Môi trường: water bodies, rain gauges, water-level and air sensors, waste, wastewater.
    Environment,
    /// (5) Năng lượng – Điện – Chiếu sáng (utility): substations, grid, lighting; here also the
    /// drainage network (sewers, manholes, pumps, gates, outfalls) as technical infrastructure.
    Utility,
    /// (6) Dân cư – Nhân khẩu: population density and residence.
    Population,
    /// (7) Kinh tế – Thương mại: businesses, markets, malls, jobs.
    Economic,
    /// (8) Y tế – Giáo dục – An sinh: hospitals, schools, health stations, welfare.
    PublicService,
    /// (9) An ninh – Trật tự: security cameras, patrol points, fire stations, police.
    Security,
    /// (10) Viễn thông – Hạ tầng số: 4G/5G stations, IoT gateways, fibre, edge nodes.
    DigitalInfrastructure,
    /// (11) Digital Twin đô thị (3D/4D): terrain tiles, 3D models, 4D time-series.
    Twin3d4d,
}

impl Layer {
    /// All layers in the plan's order.
    pub const ALL: [Layer; 11] = [
        Layer::Building,
        Layer::Green,
        Layer::TrafficRoad,
        Layer::Environment,
        Layer::Utility,
        Layer::Population,
        Layer::Economic,
        Layer::PublicService,
        Layer::Security,
        Layer::DigitalInfrastructure,
        Layer::Twin3d4d,
    ];

    /// Position in [`Layer::ALL`] (0..11).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Table name used in stores (GeoPackage table, file names). Stable: never change it.
    pub fn table_name(self) -> &'static str {
        match self {
            Layer::Building => "building",
            Layer::Green => "green",
            Layer::TrafficRoad => "traffic_road",
            Layer::Environment => "environment",
            Layer::Utility => "utility",
            Layer::Population => "population",
            Layer::Economic => "economic",
            Layer::PublicService => "public_service",
            Layer::Security => "security",
            Layer::DigitalInfrastructure => "digital_infrastructure",
            Layer::Twin3d4d => "twin_3d4d",
        }
    }

    /// Vietnamese name as in the plan.
    pub fn name_vi(self) -> &'static str {
        match self {
            Layer::Building => "Nhà & Công trình",
            Layer::Green => "Cây xanh & Công viên",
            Layer::TrafficRoad => "Giao thông – Đường bộ",
            Layer::Environment => "Môi trường",
            Layer::Utility => "Năng lượng – Điện – Hạ tầng kỹ thuật",
            Layer::Population => "Dân cư – Nhân khẩu",
            Layer::Economic => "Kinh tế – Thương mại",
            Layer::PublicService => "Y tế – Giáo dục – An sinh",
            Layer::Security => "An ninh – Trật tự",
            Layer::DigitalInfrastructure => "Viễn thông – Hạ tầng số",
            Layer::Twin3d4d => "Digital Twin đô thị (3D/4D)",
        }
    }

    /// English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Layer::Building => "Building",
            Layer::Green => "Green",
            Layer::TrafficRoad => "Traffic & Road",
            Layer::Environment => "Environment",
            Layer::Utility => "Utility / Energy",
            Layer::Population => "Population",
            Layer::Economic => "Economic",
            Layer::PublicService => "Public Service",
            Layer::Security => "Security",
            Layer::DigitalInfrastructure => "Digital Infrastructure",
            Layer::Twin3d4d => "3D/4D Twin",
        }
    }

    /// The department that owns the layer by default (a feature may name another owner).
    pub fn default_owner(self) -> Department {
        match self {
            Layer::Building | Layer::Green | Layer::TrafficRoad | Layer::Utility => {
                Department::Construction
            }
            Layer::Environment => Department::AgricultureEnvironment,
            Layer::Population | Layer::Security => Department::Police,
            Layer::Economic => Department::IndustryTrade,
            Layer::PublicService => Department::Health,
            Layer::DigitalInfrastructure | Layer::Twin3d4d => Department::ScienceTechnology,
        }
    }

    /// Parses a table name, an English name or a short alias (case-insensitive):
    /// `building`, `traffic`, `road`, `water`, `utility`, `drainage`, `twin`, `3d` …
    pub fn parse(s: &str) -> Option<Layer> {
        let k = s.trim().to_lowercase().replace(['-', ' ', '&', '/'], "_");
        let k = k.trim_matches('_');
        for l in Layer::ALL {
            if k == l.table_name() || k == l.name_en().to_lowercase().replace([' ', '&', '/'], "_")
            {
                return Some(l);
            }
        }
        Some(match k {
            "buildings" => Layer::Building,
            "park" | "parks" | "trees" => Layer::Green,
            "traffic" | "road" | "roads" | "transport" => Layer::TrafficRoad,
            "env" | "water" | "environment_water" => Layer::Environment,
            "energy" | "power" | "drainage" | "utilities" => Layer::Utility,
            "people" | "residents" => Layer::Population,
            "economy" | "business" => Layer::Economic,
            "public" | "services" | "health" | "education" => Layer::PublicService,
            "police" | "fire" | "cameras" => Layer::Security,
            "digital" | "telecom" | "digital_infra" => Layer::DigitalInfrastructure,
            "twin" | "3d" | "4d" | "3d4d" | "twin3d4d" | "twin_3d_4d" => Layer::Twin3d4d,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.table_name())
    }
}

/// A department (Sở) of the city that owns data. Ownership decides who may write a layer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Department {
    /// Sở Xây dựng (Construction; since 2025 also transport and technical infrastructure).
    Construction,
    /// Sở Quy hoạch – Kiến trúc (Planning & Architecture).
    PlanningArchitecture,
    /// Sở Nông nghiệp và Môi trường (Agriculture & Environment).
    AgricultureEnvironment,
    /// Sở Công Thương (Industry & Trade).
    IndustryTrade,
    /// Công an Thành phố (City Police).
    Police,
    /// Sở Y tế (Health).
    Health,
    /// Sở Giáo dục và Đào tạo (Education & Training).
    Education,
    /// Sở Khoa học và Công nghệ (Science & Technology).
    ScienceTechnology,
    /// Sở Tài chính (Finance).
    Finance,
    /// Any other owner, by code.
    Other(String),
}

impl Department {
    /// Short stable code stored with each feature.
    pub fn code(&self) -> &str {
        match self {
            Department::Construction => "SXD",
            Department::PlanningArchitecture => "SQHKT",
            Department::AgricultureEnvironment => "SNNMT",
            Department::IndustryTrade => "SCT",
            Department::Police => "CATP",
            Department::Health => "SYT",
            Department::Education => "SGDDT",
            Department::ScienceTechnology => "SKHCN",
            Department::Finance => "STC",
            Department::Other(c) => c,
        }
    }

    /// Parses a code; unknown codes become [`Department::Other`].
    pub fn from_code(code: &str) -> Department {
        match code {
            "SXD" => Department::Construction,
            "SQHKT" => Department::PlanningArchitecture,
            "SNNMT" => Department::AgricultureEnvironment,
            "SCT" => Department::IndustryTrade,
            "CATP" => Department::Police,
            "SYT" => Department::Health,
            "SGDDT" => Department::Education,
            "SKHCN" => Department::ScienceTechnology,
            "STC" => Department::Finance,
            other => Department::Other(other.to_string()),
        }
    }

    /// Vietnamese name.
    pub fn name_vi(&self) -> &str {
        match self {
            Department::Construction => "Sở Xây dựng",
            Department::PlanningArchitecture => "Sở Quy hoạch – Kiến trúc",
            Department::AgricultureEnvironment => "Sở Nông nghiệp và Môi trường",
            Department::IndustryTrade => "Sở Công Thương",
            Department::Police => "Công an Thành phố",
            Department::Health => "Sở Y tế",
            Department::Education => "Sở Giáo dục và Đào tạo",
            Department::ScienceTechnology => "Sở Khoa học và Công nghệ",
            Department::Finance => "Sở Tài chính",
            Department::Other(c) => c,
        }
    }

    /// English name.
    pub fn name_en(&self) -> &str {
        match self {
            Department::Construction => "Department of Construction",
            Department::PlanningArchitecture => "Department of Planning and Architecture",
            Department::AgricultureEnvironment => "Department of Agriculture and Environment",
            Department::IndustryTrade => "Department of Industry and Trade",
            Department::Police => "City Police",
            Department::Health => "Department of Health",
            Department::Education => "Department of Education and Training",
            Department::ScienceTechnology => "Department of Science and Technology",
            Department::Finance => "Department of Finance",
            Department::Other(c) => c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eleven_distinct_tables_and_parse_round_trip() {
        let mut names: Vec<_> = Layer::ALL.iter().map(|l| l.table_name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 11);
        for (i, l) in Layer::ALL.iter().enumerate() {
            assert_eq!(l.index(), i);
            assert_eq!(Layer::parse(l.table_name()), Some(*l));
            assert_eq!(Layer::parse(l.name_en()), Some(*l));
        }
        assert_eq!(Layer::parse("Traffic & Road"), Some(Layer::TrafficRoad));
        assert_eq!(Layer::parse("drainage"), Some(Layer::Utility));
        assert_eq!(Layer::parse("nonsense"), None);
    }

    #[test]
    fn department_codes_round_trip() {
        for l in Layer::ALL {
            let d = l.default_owner();
            assert_eq!(Department::from_code(d.code()), d);
        }
        assert_eq!(Department::from_code("EVN").code(), "EVN");
    }
}
