//! Where sensor messages come from (`--from` / `--sensors`): MQTT, a watched folder or stdin,
//! one batch at a time. A batch is stored (parsed, checked and committed by the pipeline)
//! before it is acknowledged: MQTT messages are acknowledged and files moved to `done/` only
//! after the store has them.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;
use twin_sensors::ingest::{self, Folder, Outcome, Pipeline};
use twin_sensors::mqtt::{self, MqttUrl, Subscriber};
use twin_sensors::qc::ModelView;

/// A source of messages.
pub(crate) enum Feed {
    Mqtt(Subscriber),
    /// A watched folder and how many of its files make a batch at most.
    Folder(Folder, usize),
    Stdin(Receiver<Result<Vec<u8>, usize>>, usize),
}

/// Messages taken from a feed, not yet stored.
pub(crate) struct Batch {
    msgs: Vec<(String, Vec<u8>)>,
    too_long: Vec<usize>,
    mqtt: Vec<mqtt::Message>,
    files: Vec<PathBuf>,
    /// The feed has ended (stdin closed).
    pub ended: bool,
}

impl Batch {
    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty() && self.too_long.is_empty()
    }
}

impl Feed {
    /// `mqtt://HOST:PORT/TOPIC`, `-` (stdin, NDJSON) or a folder to watch (taken at most
    /// `max_files` files, in name order, at a time).
    pub fn open(from: &str, max_bytes: usize, client_id: &str, max_files: usize) -> Result<Feed> {
        Ok(if from.starts_with("mqtt://") {
            let url = MqttUrl::parse(from).map_err(anyhow::Error::msg)?;
            let sub = Subscriber::connect(&url, client_id);
            sub.wait_subscribed(Duration::from_secs(15))
                .map_err(anyhow::Error::msg)
                .with_context(|| from.to_string())?;
            Feed::Mqtt(sub)
        } else if from == "-" {
            let (tx, rx) = std::sync::mpsc::sync_channel(10_000);
            std::thread::spawn(move || {
                let stdin = std::io::stdin();
                for l in ingest::BoundedLines::new(stdin.lock(), max_bytes) {
                    match l {
                        Ok(l) => {
                            if tx.send(l).is_err() {
                                return;
                            }
                        }
                        Err(_) => return,
                    }
                }
            });
            Feed::Stdin(rx, max_bytes)
        } else {
            Feed::Folder(
                Folder::new(Path::new(from)).with_context(|| from.to_string())?,
                max_files.max(1),
            )
        })
    }

    /// The next batch: waits up to `wait` for the first message, then takes what is there
    /// (at most 1000 messages; a folder its first waiting files, up to its limit).
    pub fn next(&self, wait: Duration) -> Result<Batch> {
        let mut b = Batch {
            msgs: Vec::new(),
            too_long: Vec::new(),
            mqtt: Vec::new(),
            files: Vec::new(),
            ended: false,
        };
        match self {
            Feed::Mqtt(sub) => {
                b.mqtt = sub.recv_batch(1000, wait).map_err(anyhow::Error::msg)?;
                b.msgs = b
                    .mqtt
                    .iter()
                    .map(|m| (format!("mqtt:{}", m.topic), m.payload.clone()))
                    .collect();
            }
            Feed::Folder(f, max) => {
                b.files = f.waiting().context("watched folder")?;
                b.files.truncate(*max);
                for p in &b.files {
                    let bytes = Folder::read(p, ingest::DEFAULT_MAX_FILE_BYTES)
                        .with_context(|| p.display().to_string())?;
                    b.msgs.push((p.display().to_string(), bytes));
                }
                if b.files.is_empty() {
                    std::thread::sleep(wait);
                }
            }
            Feed::Stdin(rx, _) => {
                let mut lines = Vec::new();
                match rx.recv_timeout(wait) {
                    Ok(l) => lines.push(l),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => b.ended = true,
                }
                while lines.len() < 1000 && !b.ended {
                    match rx.try_recv() {
                        Ok(l) => lines.push(l),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => b.ended = true,
                    }
                }
                for (k, l) in lines.into_iter().enumerate() {
                    match l {
                        Ok(l) if l.iter().all(u8::is_ascii_whitespace) => {}
                        Ok(l) => b.msgs.push((format!("stdin:{k}"), l)),
                        Err(len) => b.too_long.push(len),
                    }
                }
            }
        }
        Ok(b)
    }

    /// Parses, checks and stores a batch (one transaction), then acknowledges it: MQTT
    /// messages acknowledged, files moved to `done/` or `rejected/` (printed).
    pub fn process(&self, p: &mut Pipeline, b: Batch, model: &dyn ModelView) -> Result<Outcome> {
        let mut out = match self {
            Feed::Folder(..) => {
                p.process_limited(&b.msgs, model, false, ingest::DEFAULT_MAX_FILE_BYTES)?
            }
            _ => p.process(&b.msgs, model, false)?,
        };
        if !b.too_long.is_empty() {
            let max = match self {
                Feed::Stdin(_, max) => *max,
                _ => 0,
            };
            let rejected: Vec<_> = b
                .too_long
                .iter()
                .map(|len| (ingest::oversized_line(*len, max), "stdin".to_string()))
                .collect();
            for (r, _) in &rejected {
                p.qc.count_rejected(r.reason);
            }
            let extra = Outcome {
                decisions: vec![],
                rejected,
            };
            p.store_outcome(&extra)?;
            out.rejected.extend(extra.rejected);
        }
        match self {
            Feed::Mqtt(sub) => sub.ack(&b.mqtt).map_err(anyhow::Error::msg)?,
            Feed::Folder(f, _) => {
                for file in &b.files {
                    let to = f
                        .finish(file, &out)
                        .with_context(|| file.display().to_string())?;
                    println!("  {}", to.display());
                }
            }
            Feed::Stdin(..) => {}
        }
        Ok(out)
    }

    /// Disconnects from the broker (MQTT).
    pub fn close(&self) {
        if let Feed::Mqtt(sub) = self {
            sub.disconnect();
        }
    }
}
