//! The live twin: the twin experiment (a truth storm 40 % heavier than forecast, its sensors
//! read with noise) where the forecast with assimilation beats the open loop and alerts before
//! the truth floods; a live twin saved and restored goes on as if it never stopped.

mod common;
use common::{city, design_storm};
use twin_engine::live::{DepthObs, LiveTwin, Nudging, RainObs};
use twin_engine::twin_experiment::{Experiment, run};

fn network(city: &twin_model::City, minutes: f64) -> twin_hydro::Project {
    let text = twin_io::swmm::city_to_inp_with(city, &design_storm(), minutes, false).unwrap();
    twin_hydro::parse(&text).unwrap()
}

#[test]
fn assimilation_beats_the_open_loop_and_alerts_before_the_truth_floods() {
    let city = city();
    let e = Experiment::standard(design_storm());
    let o = run(&city, &network(&city, e.issue_min + e.horizon_min), &e).unwrap();
    for p in &o.places {
        println!(
            "{:28} {} peak truth {:.3} open {:.3} assim {:.3}; alert min {:?}",
            p.name,
            if p.observed { "sensor " } else { "hotspot" },
            p.peak_m[0],
            p.peak_m[1],
            p.peak_m[2],
            p.alert_min
        );
    }
    println!(
        "RMSE of peak depths: open loop {:.3} m, assimilated {:.3} m (hotspots alone {:.3} / {:.3}); rain bias {:.2}; assimilated {:.0} m³; first alert {:?}; forecast {:.1} s",
        o.rmse_m[0],
        o.rmse_m[1],
        o.rmse_hotspots_m[0],
        o.rmse_hotspots_m[1],
        o.bias,
        o.assimilated_m3,
        o.first_alert,
        o.forecast_wall_s
    );
    assert_eq!(o.places.iter().filter(|p| !p.observed).count(), 10);
    assert_eq!(o.places.iter().filter(|p| p.observed).count(), 4);
    // The gauges see a storm 40 % heavier than forecast (their mean factor east–west).
    assert!((1.2..1.6).contains(&o.bias), "bias {}", o.bias);
    // The truth is deeper than the forecast everywhere the forecast sees water.
    assert!(o.rmse_m[1] < 0.6 * o.rmse_m[0], "{:?}", o.rmse_m);
    assert!(
        o.rmse_hotspots_m[1] < 0.6 * o.rmse_hotspots_m[0],
        "{:?}",
        o.rmse_hotspots_m
    );
    let (place, at, [_, lead]) = o.first_alert.clone().expect("the truth floods a hotspot");
    assert!(at > e.issue_min, "{place} at {at}");
    assert!(
        lead.is_some_and(|l| l > 0.0),
        "{place}: no alert ahead of the truth"
    );
}

#[test]
fn a_live_twin_saved_and_restored_goes_on_as_if_it_never_stopped() {
    let city = city();
    let rain = design_storm();
    let net = network(&city, 60.0);
    let readings = |m: f64| {
        let i = rain
            .iter()
            .rev()
            .find(|(t, _)| *t <= m)
            .map_or(0.0, |r| r.1);
        vec![
            RainObs {
                x: 587_500.0,
                y: 2_325_000.0,
                mm_per_h: i,
            },
            RainObs {
                x: 589_500.0,
                y: 2_326_500.0,
                mm_per_h: 1.3 * i,
            },
        ]
    };
    let street = [DepthObs {
        x: 588_000.0,
        y: 2_325_500.0,
        depth_m: 0.12,
    }];
    let step = |t: &mut LiveTwin, m: f64| {
        t.observe(m * 60.0, &readings(m - 5.0), &street).unwrap();
    };
    let mut whole =
        LiveTwin::start(&city, net.clone(), 60.0, Vec::new(), Nudging::default()).unwrap();
    let mut first = LiveTwin::start(&city, net, 60.0, Vec::new(), Nudging::default()).unwrap();
    for m in [5.0, 10.0, 15.0, 20.0] {
        step(&mut whole, m);
        step(&mut first, m);
    }
    let bytes = twin_engine::hotstart::save_live(&first);
    drop(first);
    let mut second = twin_engine::hotstart::load_live(&bytes).unwrap();
    for m in [25.0, 30.0, 35.0, 40.0] {
        step(&mut whole, m);
        step(&mut second, m);
    }
    let bits = |t: &LiveTwin| -> Vec<u64> {
        t.state()
            .surface()
            .depth()
            .iter()
            .map(|d| d.to_bits())
            .collect()
    };
    assert_eq!(bits(&second), bits(&whole));
    let (a, b) = (
        whole.forecast(1200.0, &[(0.0, 30.0)], 0.3).unwrap(),
        second.forecast(1200.0, &[(0.0, 30.0)], 0.3).unwrap(),
    );
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    // The corrections are booked: the system's balance still closes.
    let r = whole
        .state()
        .clone()
        .finish(city.dem.as_ref().unwrap(), &Default::default())
        .unwrap();
    assert!(r.ledger.surface.assimilated.abs() > 1.0, "{:?}", r.ledger);
    assert!(
        r.ledger.closure_error_percent().abs() < 0.1,
        "{:?}",
        r.ledger
    );
}
