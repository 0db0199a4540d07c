//! MQTT (rumqttc, no TLS): a subscriber that takes readings at QoS 1 and acknowledges each
//! message only after the batch it is in has been stored (manual acks, a persistent session:
//! a message not yet stored is sent again after a restart), and a publisher for replays.

use crate::ingest::{Outcome, Pipeline};
use crate::qc::ModelView;
use rumqttc::{Client, Connection, Event, MqttOptions, Packet, Publish, QoS};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `mqtt://HOST:PORT/TOPIC` split up (the topic may hold `/`, `+` and `#`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttUrl {
    /// Broker host.
    pub host: String,
    /// Broker port (1883 if not given).
    pub port: u16,
    /// Topic or topic filter.
    pub topic: String,
}

impl MqttUrl {
    /// Parses `mqtt://HOST[:PORT]/TOPIC`.
    pub fn parse(s: &str) -> Result<MqttUrl, String> {
        let rest = s
            .strip_prefix("mqtt://")
            .ok_or_else(|| format!("'{s}': an MQTT address starts mqtt://"))?;
        let (hostport, topic) = rest
            .split_once('/')
            .ok_or_else(|| format!("'{s}': no topic (mqtt://HOST:PORT/TOPIC)"))?;
        if topic.is_empty() {
            return Err(format!("'{s}': empty topic"));
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse()
                    .map_err(|_| format!("'{s}': port '{p}' is not a number"))?,
            ),
            None => (hostport, 1883),
        };
        if host.is_empty() {
            return Err(format!("'{s}': no host"));
        }
        Ok(MqttUrl {
            host: host.into(),
            port,
            topic: topic.into(),
        })
    }
}

/// A message received.
pub struct Message {
    /// Its topic.
    pub topic: String,
    /// Its payload.
    pub payload: Vec<u8>,
    publish: Publish,
}

/// A subscriber.
pub struct Subscriber {
    client: Client,
    rx: Receiver<Result<Message, String>>,
    /// Connection errors seen (the connection is retried).
    pub errors: Arc<Mutex<Vec<String>>>,
    subscribed: Arc<AtomicBool>,
}

/// Largest MQTT packet the subscriber takes, bytes (larger ones end the connection; messages
/// under it but over the message limit are received and rejected as oversized, counted).
pub const MAX_PACKET_BYTES: usize = 16 * 1024 * 1024;

impl Subscriber {
    /// Connects as `client_id` (a persistent session) and subscribes to the URL's topic at
    /// QoS 1, subscribing again after every reconnection.
    pub fn connect(url: &MqttUrl, client_id: &str) -> Subscriber {
        let mut o = MqttOptions::new(client_id, url.host.clone(), url.port);
        o.set_keep_alive(Duration::from_secs(30))
            .set_clean_session(false)
            .set_manual_acks(true)
            .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
            .set_inflight(1000);
        let (client, connection) = Client::new(o, 10_000);
        // Unbounded: the connection thread must never wait on us, or the acknowledgements we
        // queue to it would wait on it. What is held is bounded by the broker's window of
        // unacknowledged messages (we acknowledge only after storing).
        let (tx, rx) = channel();
        let errors = Arc::new(Mutex::new(Vec::new()));
        let subscribed = Arc::new(AtomicBool::new(false));
        let (c2, topic, errs, sub) = (
            client.clone(),
            url.topic.clone(),
            errors.clone(),
            subscribed.clone(),
        );
        std::thread::spawn(move || run_subscriber(connection, c2, topic, tx, errs, sub));
        Subscriber {
            client,
            rx,
            errors,
            subscribed,
        }
    }

    /// Waits until the broker has confirmed the subscription (or `timeout`).
    pub fn wait_subscribed(&self, timeout: Duration) -> Result<(), String> {
        let t0 = Instant::now();
        while !self.subscribed.load(Ordering::SeqCst) {
            if t0.elapsed() > timeout {
                let last = self.errors.lock().ok().and_then(|e| e.last().cloned());
                return Err(format!(
                    "no subscription confirmed in {:.0} s{}",
                    timeout.as_secs_f64(),
                    last.map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Up to `max` messages: waits up to `wait` for the first, then takes what is already
    /// there. `Err` when the connection thread has ended.
    pub fn recv_batch(&self, max: usize, wait: Duration) -> Result<Vec<Message>, String> {
        let mut v = Vec::new();
        match self.rx.recv_timeout(wait) {
            Ok(Ok(m)) => v.push(m),
            Ok(Err(e)) => return Err(e),
            Err(RecvTimeoutError::Timeout) => return Ok(v),
            Err(RecvTimeoutError::Disconnected) => return Err("the MQTT connection ended".into()),
        }
        while v.len() < max {
            match self.rx.try_recv() {
                Ok(Ok(m)) => v.push(m),
                Ok(Err(e)) => return Err(e),
                Err(_) => break,
            }
        }
        Ok(v)
    }

    /// Acknowledges messages (after they are stored).
    pub fn ack(&self, msgs: &[Message]) -> Result<(), String> {
        for m in msgs {
            self.client.ack(&m.publish).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Disconnects.
    pub fn disconnect(&self) {
        let _ = self.client.disconnect();
    }
}

fn run_subscriber(
    mut connection: Connection,
    client: Client,
    topic: String,
    tx: Sender<Result<Message, String>>,
    errors: Arc<Mutex<Vec<String>>>,
    subscribed: Arc<AtomicBool>,
) {
    for ev in connection.iter() {
        match ev {
            Ok(Event::Incoming(Packet::SubAck(_))) => subscribed.store(true, Ordering::SeqCst),
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if let Err(e) = client.subscribe(topic.clone(), QoS::AtLeastOnce) {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let m = Message {
                    topic: p.topic.clone(),
                    payload: p.payload.to_vec(),
                    publish: p,
                };
                if tx.send(Ok(m)).is_err() {
                    return;
                }
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                if let Ok(mut v) = errors.lock() {
                    v.push(e.to_string());
                    if v.len() > 100 {
                        v.remove(0);
                    }
                }
                // rumqttc reconnects on the next poll; wait a little so a broker that is down
                // is not hammered.
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }
}

/// Takes messages from `sub` through `p` until `stop` says so (checked after every batch and
/// every idle 100 ms): each batch of up to `max_batch` messages is parsed, checked and stored
/// in one transaction, then acknowledged. Held jumps are released at the end. `each` sees
/// the pipeline and every batch's outcome (progress, releasing held jumps, statuses).
pub fn ingest(
    p: &mut Pipeline,
    sub: &Subscriber,
    model: &dyn ModelView,
    max_batch: usize,
    stop: &mut dyn FnMut(&Pipeline) -> bool,
    each: &mut dyn FnMut(&mut Pipeline, &Outcome) -> Result<(), String>,
) -> Result<(), String> {
    loop {
        let msgs = sub.recv_batch(max_batch, Duration::from_millis(100))?;
        if !msgs.is_empty() {
            let batch: Vec<(String, Vec<u8>)> = msgs
                .iter()
                .map(|m| (format!("mqtt:{}", m.topic), m.payload.clone()))
                .collect();
            let out = p.process(&batch, model, false).map_err(|e| e.to_string())?;
            sub.ack(&msgs)?;
            each(p, &out)?;
        }
        if stop(p) {
            break;
        }
    }
    let out = p.process(&[], model, true).map_err(|e| e.to_string())?;
    each(p, &out)
}

/// A publisher at QoS 1 that can wait for the broker's acknowledgements.
pub struct Publisher {
    client: Client,
    acked: Arc<Mutex<(u64, Option<String>)>>,
    sent: u64,
}

impl Publisher {
    /// Connects as `client_id`.
    pub fn connect(url: &MqttUrl, client_id: &str) -> Publisher {
        let mut o = MqttOptions::new(client_id, url.host.clone(), url.port);
        o.set_keep_alive(Duration::from_secs(30))
            .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
            .set_inflight(1000);
        let (client, mut connection) = Client::new(o, 10_000);
        let acked = Arc::new(Mutex::new((0u64, None)));
        let a2 = acked.clone();
        std::thread::spawn(move || {
            for ev in connection.iter() {
                match ev {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        if let Ok(mut a) = a2.lock() {
                            a.0 += 1;
                        }
                    }
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
                    Ok(_) => {}
                    Err(e) => {
                        if let Ok(mut a) = a2.lock() {
                            a.1 = Some(e.to_string());
                        }
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
        });
        Publisher {
            client,
            acked,
            sent: 0,
        }
    }

    /// Publishes one message at QoS 1.
    pub fn publish(&mut self, topic: &str, payload: Vec<u8>) -> Result<(), String> {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .map_err(|e| e.to_string())?;
        self.sent += 1;
        Ok(())
    }

    /// Waits until the broker has acknowledged everything published (or `timeout`); returns
    /// the number acknowledged.
    pub fn wait_acked(&self, timeout: Duration) -> Result<u64, String> {
        let t0 = Instant::now();
        loop {
            let (n, err) = self
                .acked
                .lock()
                .map(|a| (a.0, a.1.clone()))
                .unwrap_or((0, None));
            if n >= self.sent {
                return Ok(n);
            }
            if t0.elapsed() > timeout {
                return Err(format!(
                    "the broker acknowledged {n} of {} messages in {:.0} s{}",
                    self.sent,
                    timeout.as_secs_f64(),
                    err.map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Disconnects.
    pub fn disconnect(&self) {
        let _ = self.client.disconnect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            MqttUrl::parse("mqtt://127.0.0.1:1884/twin/hanoi/sensors/#").unwrap(),
            MqttUrl {
                host: "127.0.0.1".into(),
                port: 1884,
                topic: "twin/hanoi/sensors/#".into()
            }
        );
        assert_eq!(MqttUrl::parse("mqtt://broker/t").unwrap().port, 1883);
        assert!(MqttUrl::parse("http://x/t").is_err());
        assert!(MqttUrl::parse("mqtt://x:port/t").is_err());
        assert!(MqttUrl::parse("mqtt://x:1883").is_err());
    }
}
