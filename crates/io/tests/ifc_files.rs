//! IFC files written by hand: a minimal IFC2x3 building (one site, building, storey and
//! extruded slab, in centimetres, in Hanoi) and malformed variants of it, whose errors must
//! name the file, the line and `#id` of the instance, and the field.

use std::path::Path;
use twin_io::ifc::{IfcPlacement, parse_ifc};
use twin_model::{Crs, FeatureId};

const SLAB_2X3: &str = "ISO-10303-21;\r
HEADER;\r
FILE_DESCRIPTION(('ViewDefinition [CoordinationView]'),'2;1');\r
FILE_NAME('slab.ifc','2024-01-01T00:00:00',(''),(''),'','','');\r
FILE_SCHEMA(('IFC2X3'));\r
ENDSEC;\r
DATA;\r
#1=IFCPROJECT('0YvctVUKr0kugbFTf53O9L',$,'P',$,$,$,$,(#20),#7);\r
#2=IFCSIUNIT(*,.LENGTHUNIT.,.CENTI.,.METRE.);\r
#7=IFCUNITASSIGNMENT((#2));\r
#10=IFCCARTESIANPOINT((0.,0.,0.));\r
#11=IFCAXIS2PLACEMENT3D(#10,$,$);\r
#12=IFCLOCALPLACEMENT($,#11);\r
#20=IFCGEOMETRICREPRESENTATIONCONTEXT($,'Model',3,1.E-05,#11,#21);\r
#21=IFCDIRECTION((0.,1.));\r
#30=IFCSITE('1YvctVUKr0kugbFTf53O9L',$,'Site',$,$,#12,$,$,.ELEMENT.,(21,1,42,600000),(105,51,15,120000),1200.,$,$);\r
#31=IFCBUILDING('2YvctVUKr0kugbFTf53O9L',$,'Nha A',$,'Office',#12,$,'To\\X2\\00E0\\X0\\ nh\\X2\\00E0\\X0\\ A',.ELEMENT.,$,$,$);\r
#32=IFCBUILDINGSTOREY('3YvctVUKr0kugbFTf53O9L',$,'Tang 1',$,$,#12,$,$,.ELEMENT.,0.);\r
#40=IFCRELAGGREGATES('4YvctVUKr0kugbFTf53O9L',$,$,$,#1,(#30));\r
#41=IFCRELAGGREGATES('5YvctVUKr0kugbFTf53O9L',$,$,$,#30,(#31));\r
#42=IFCRELAGGREGATES('6YvctVUKr0kugbFTf53O9L',$,$,$,#31,(#32));\r
#50=IFCSLAB('7YvctVUKr0kugbFTf53O9L',$,'San',$,$,#53,#58,$,.FLOOR.);\r
#51=IFCCARTESIANPOINT((500.,0.,0.));\r
#52=IFCAXIS2PLACEMENT3D(#51,$,$);\r
#53=IFCLOCALPLACEMENT(#12,#52);\r
#54=IFCRECTANGLEPROFILEDEF(.AREA.,$,#55,2000.,1000.);\r
#55=IFCAXIS2PLACEMENT2D(#56,$);\r
#56=IFCCARTESIANPOINT((1000.,500.));\r
#57=IFCEXTRUDEDAREASOLID(#54,#11,#59,30.);\r
#59=IFCDIRECTION((0.,0.,1.));\r
#58=IFCPRODUCTDEFINITIONSHAPE($,$,(#60));\r
#60=IFCSHAPEREPRESENTATION(#20,'Body','SweptSolid',(#57));\r
#61=IFCRELCONTAINEDINSPATIALSTRUCTURE('8YvctVUKr0kugbFTf53O9L',$,$,$,(#50,#62),#32);\r
#62=IFCFURNISHINGELEMENT('9YvctVUKr0kugbFTf53O9L',$,'Ban',$,$,#12,$,$);\r
ENDSEC;\r
END-ISO-10303-21;\r
";

fn read(text: &str, place: &IfcPlacement) -> twin_io::Result<twin_io::ifc::IfcImport> {
    parse_ifc(
        text.as_bytes(),
        Path::new("slab.ifc"),
        Crs::VN2000_UTM48N,
        FeatureId(1),
        place,
        None,
    )
}

/// The line a text starts on in the file.
fn line_of(text: &str, what: &str) -> usize {
    text[..text.find(what).unwrap()].matches('\n').count() + 1
}

#[test]
fn a_hand_written_ifc2x3_slab_in_centimetres_lands_in_hanoi() {
    let r = read(SLAB_2X3, &IfcPlacement::default()).unwrap();
    assert_eq!(r.schema, "IFC2X3");
    assert_eq!(r.length_unit_m, 0.01);
    assert_eq!(r.source_crs, Crs::VN2000_UTM48N);
    assert_eq!(r.skipped.get("IfcFurnishingElement"), Some(&1));
    assert_eq!(r.features.len(), 1);
    let b = &r.features[0];
    assert_eq!(b.name.as_deref(), Some("Toà nhà A"));
    assert_eq!(b.text("building"), Some("Office"));
    assert_eq!(b.num("levels"), Some(1.0));
    assert_eq!(b.text("storey_names"), Some("Tang 1"));
    assert!((b.num("height_m").unwrap() - 0.3).abs() < 1e-9);
    assert!((b.num("base_m").unwrap() - 12.0).abs() < 1e-9);
    use geo::Area;
    assert!((b.geometry.unsigned_area() - 200.0).abs() < 0.01);
    // The model's origin is the site's point (21°1′42.6″N, 105°51′15.12″E); the slab spans
    // 5–25 m east and 0–10 m north of it (grid convergence here turns it by 0.3°).
    let r84 = twin_io::crs::Reprojector::new(Crs::WGS84, Crs::VN2000_UTM48N, "t").unwrap();
    let (e0, n0) = r84
        .point(
            105.0 + 51.0 / 60.0 + 15.12 / 3600.0,
            21.0 + 1.0 / 60.0 + 42.6 / 3600.0,
        )
        .unwrap();
    let bb = b.bbox().unwrap();
    assert!(
        (bb[0][0] - e0 - 5.0).abs() < 0.2 && (bb[0][1] - n0).abs() < 0.2,
        "{bb:?} {e0} {n0}"
    );
    let solid: Vec<Vec<[f64; 3]>> = serde_json::from_str(b.text("solid_json").unwrap()).unwrap();
    assert_eq!(solid.len(), 6, "a box");
    // --at overrides the site's point; --rotation-deg 90 puts the model's +y to the east.
    let r = read(
        SLAB_2X3,
        &IfcPlacement {
            at: Some((105.85, 21.03)),
            rotation_deg: Some(90.0),
        },
    )
    .unwrap();
    let bb = r.features[0].bbox().unwrap();
    let (w, h) = (bb[1][0] - bb[0][0], bb[1][1] - bb[0][1]);
    assert!(
        (w - 10.0).abs() < 0.2 && (h - 20.0).abs() < 0.2,
        "{w} × {h}"
    );
    assert!(
        r.placed_by.starts_with("--at 105.85,21.03"),
        "{}",
        r.placed_by
    );
    // IFC4's map conversion wins over the site's point: the model's origin at 588000 E,
    // 2325000 N of VN-2000 / UTM 48N, 10 m up, its x axis turned to the north.
    let ifc4 = SLAB_2X3.replace("'IFC2X3'", "'IFC4'").replace(
        "ENDSEC;\r\nEND-ISO",
        "#70=IFCPROJECTEDCRS('EPSG:3405',$,$,$,$,$,$);\r\n#71=IFCMAPCONVERSION(#20,#70,588000.,2325000.,10.,0.,1.,$);\r\nENDSEC;\r\nEND-ISO",
    );
    let r = read(&ifc4, &IfcPlacement::default()).unwrap();
    assert_eq!(r.placed_by, "IfcMapConversion onto EPSG:3405");
    let b = &r.features[0];
    let bb = b.bbox().unwrap();
    for (got, want) in [
        (bb[0][0], 587_990.0),
        (bb[1][0], 588_000.0),
        (bb[0][1], 2_325_005.0),
        (bb[1][1], 2_325_025.0),
    ] {
        assert!((got - want).abs() < 1e-6, "{bb:?}");
    }
    assert!((b.num("base_m").unwrap() - 10.0).abs() < 1e-9);
}

#[test]
fn malformed_files_are_refused_naming_file_line_instance_and_field() {
    let place = IfcPlacement::default();
    let err = |text: &str| read(text, &place).unwrap_err().to_string();
    // Truncated inside an instance.
    let cut = &SLAB_2X3[..SLAB_2X3.find("#57=").unwrap() + 30];
    let e = err(cut);
    assert!(e.starts_with("slab.ifc: line"), "{e}");
    assert!(e.contains("truncated"), "{e}");
    // A reference to an instance that is not there.
    let bad = SLAB_2X3.replace("#53,#58,$,.FLOOR.", "#53,#99,$,.FLOOR.");
    let e = err(&bad);
    let l = line_of(&bad, "#50=");
    assert_eq!(
        e,
        format!("slab.ifc: line {l}, #50 IFCSLAB, field 'Representation': #99 is not in the file")
    );
    // A length unit that is not one.
    let bad = SLAB_2X3.replace(".CENTI.,.METRE.", ".CENTI.,.GRAM.");
    let e = err(&bad);
    let l = line_of(&bad, "#2=");
    assert_eq!(
        e,
        format!(
            "slab.ifc: line {l}, #2 IFCSIUNIT, field 'Name': a length unit must be .METRE., got 'GRAM'"
        )
    );
    // A latitude past the pole.
    let bad = SLAB_2X3.replace("(21,1,42,600000)", "(121,1,42,600000)");
    let e = err(&bad);
    assert!(e.contains("#30 IFCSITE, field 'RefLatitude'"), "{e}");
    // Not georeferenced: refused until the user places it.
    let bad = SLAB_2X3.replace("(21,1,42,600000),(105,51,15,120000)", "$,$");
    let e = err(&bad);
    assert!(e.contains("place it with --at lon,lat"), "{e}");
    assert!(
        read(
            &bad,
            &IfcPlacement {
                at: Some((105.85, 21.03)),
                rotation_deg: None
            }
        )
        .is_ok()
    );
    // A profile of the wrong kind where a point is needed.
    let bad = SLAB_2X3.replace(
        "#55=IFCAXIS2PLACEMENT2D(#56,$);",
        "#55=IFCAXIS2PLACEMENT2D(#59,$);",
    );
    let e = err(&bad);
    assert!(
        e.contains("#59 IFCDIRECTION, field 'Coordinates': expected IFCCARTESIANPOINT"),
        "{e}"
    );
    // Not IFC at all.
    let e = err("ISO-10303-21;HEADER;FILE_SCHEMA(('AP214'));ENDSEC;DATA;ENDSEC;END-ISO-10303-21;");
    assert!(e.contains("IFC2X3 or IFC4 is read, got 'AP214'"), "{e}");
}

#[test]
fn no_panic_on_cut_or_mangled_files() {
    // Every prefix of the file, and the file with each byte in turn replaced, is read or
    // refused with an error; none panics.
    let b = SLAB_2X3.as_bytes();
    for n in (0..b.len()).step_by(7) {
        let _ = parse_ifc(
            &b[..n],
            Path::new("x.ifc"),
            Crs::VN2000_UTM48N,
            FeatureId(1),
            &IfcPlacement::default(),
            None,
        );
    }
    for (byte, pos) in [b'#', b'(', b')', b'$', b'\'', b'0', b'.', b',']
        .iter()
        .cycle()
        .zip((0..b.len()).step_by(5))
    {
        let mut m = b.to_vec();
        m[pos] = *byte;
        let _ = parse_ifc(
            &m,
            Path::new("x.ifc"),
            Crs::VN2000_UTM48N,
            FeatureId(1),
            &IfcPlacement::default(),
            None,
        );
    }
}
