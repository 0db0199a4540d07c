//! Foundation benchmarks: OSM import (ours against GDAL's own OSM driver reading the same
//! file in the same run) and spatial queries on the demo city (R-tree against a linear scan).
//! Run: `cargo bench --bench foundation`; figures are recorded in benches/results/foundation.md.

use criterion::{Criterion, criterion_group, criterion_main};
use gdal::vector::LayerAccess;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;
use twin_model::Layer;

fn osm_files() -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    let h = twin_suite::testdata_dir().join("Helsinki.osm.pbf");
    if h.exists() {
        v.push(("helsinki_pbf".to_string(), h));
    }
    if let Some(d) = twin_suite::hanoi_data_dir() {
        v.push(("hoankiem_xml".to_string(), d.join("hoankiem_2019-06.osm")));
    }
    v
}

/// GDAL's OSM driver: read every feature of every layer (points, lines, multipolygons …).
fn gdal_read_all(p: &PathBuf) -> usize {
    let ds = gdal::Dataset::open(p).unwrap();
    let mut n = 0;
    for mut l in ds.layers() {
        for f in l.features() {
            n += f.geometry().is_some() as usize;
        }
    }
    n
}

fn osm_import(c: &mut Criterion) {
    let mut g = c.benchmark_group("osm_import");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    for (name, p) in osm_files() {
        g.bench_function(format!("twin/{name}"), |b| {
            b.iter(|| {
                let (city, _) =
                    twin_io::osm::import_osm(black_box(&p), &Default::default()).unwrap();
                black_box(
                    twin_model::RoadGraph::from_layer(city.layer(Layer::TrafficRoad))
                        .links
                        .len(),
                )
            })
        });
        g.bench_function(format!("gdal_osm_driver/{name}"), |b| {
            b.iter(|| black_box(gdal_read_all(&p)))
        });
    }
    g.finish();
}

fn spatial_queries(c: &mut Criterion) {
    let city = twin_citygen::generate(&Default::default());
    let b = city.layer(Layer::Building);
    let mut g = c.benchmark_group("spatial_query");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    let probes: Vec<[f64; 2]> = (0..100)
        .map(|i| {
            [
                twin_citygen::X0 + 100.0 + 23.7 * i as f64,
                twin_citygen::Y0 + 150.0 + 28.1 * i as f64,
            ]
        })
        .collect();
    g.bench_function("rtree/bbox_200m_x100", |bch| {
        bch.iter(|| {
            probes
                .iter()
                .map(|p| {
                    b.query_bbox([p[0] - 100.0, p[1] - 100.0], [p[0] + 100.0, p[1] + 100.0])
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.bench_function("linear_scan/bbox_200m_x100", |bch| {
        bch.iter(|| {
            probes
                .iter()
                .map(|p| {
                    b.features()
                        .iter()
                        .filter(|f| {
                            f.bbox().is_some_and(|[lo, hi]| {
                                lo[0] <= p[0] + 100.0
                                    && hi[0] >= p[0] - 100.0
                                    && lo[1] <= p[1] + 100.0
                                    && hi[1] >= p[1] - 100.0
                            })
                        })
                        .count()
                })
                .sum::<usize>()
        })
    });
    g.bench_function("rtree/nearest5_x100", |bch| {
        bch.iter(|| probes.iter().map(|p| b.nearest(*p, 5).len()).sum::<usize>())
    });
    g.bench_function("rtree/point_x100", |bch| {
        bch.iter(|| {
            probes
                .iter()
                .map(|p| b.query_point(*p, 0.0).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, osm_import, spatial_queries);
criterion_main!(benches);
