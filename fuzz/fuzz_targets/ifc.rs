//! IFC (STEP) bytes read into buildings, as `twin import ifc --at …` reads a file (placed by
//! the user and into the CRS of that point, so the reader itself is what is exercised).
#![no_main]
use libfuzzer_sys::fuzz_target;
use twin_io::ifc::IfcPlacement;
use twin_model::{Crs, FeatureId};

fuzz_target!(|data: &[u8]| {
    let _ = twin_io::ifc::parse_ifc(
        data,
        std::path::Path::new("fuzz.ifc"),
        Crs::VN2000_UTM48N,
        FeatureId(1),
        &IfcPlacement {
            at: Some((105.85, 21.03)),
            rotation_deg: Some(30.0),
        },
        None,
    );
});
