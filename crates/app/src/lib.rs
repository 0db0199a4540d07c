//! `twin-app`: the Hanoi digital twin in 3D (`twin app`) and on a video wall (`twin wall`),
//! with bevy and egui. The only crate that links bevy; everything else of the project builds
//! without it.
//!
//! The pure parts (reading a run's playback folder, colour classes, meshes, the camera's
//! projection, picking, KPIs, the wall's text) are plain functions that tests call directly;
//! [`viewer`] and [`ui`] put them on screen.

pub mod bench;
pub mod camera;
pub mod cli;
pub mod colors;
pub mod compare;
pub mod fonts;
pub mod i18n;
pub mod kpi;
pub mod live;
pub mod pick;
pub mod plan;
pub mod playback;
pub mod scene;
pub mod ui;
pub mod viewer;
