//! SUMO .net.xml: parse, then build the simulation network (edges, lanes, signals).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(net) = twin_traffic::sumo_net::parse_net(text) {
        let _ = twin_traffic::network::Network::from_sumo(&net);
    }
});
