//! The orbit camera (focus, distance, yaw, pitch) and its projection, without bevy's world,
//! so that tests can tell where a map point lands on a screenshot and clicks can be turned
//! into rays.

use crate::scene::{Frame, Terrain};
use bevy::math::{Mat4, Vec2, Vec3, Vec4};

/// Vertical field of view (bevy's default perspective).
pub const FOV_Y: f32 = std::f32::consts::FRAC_PI_4;

/// An orbit camera looking at `focus` (world coordinates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrbitCam {
    /// The point looked at.
    pub focus: Vec3,
    /// Distance from the focus, m.
    pub distance: f32,
    /// Turn about the vertical, radians; 0 looks north (camera to the south).
    pub yaw: f32,
    /// Elevation above the horizon, radians.
    pub pitch: f32,
}

impl OrbitCam {
    /// A view of the whole of a `width` × `depth` m area centred on `focus`, from the south,
    /// 50° up (or straight down with `top`).
    pub fn overview(focus: Vec3, width: f32, depth: f32, top: bool) -> OrbitCam {
        OrbitCam {
            focus,
            distance: 0.62 * width.max(depth) / (FOV_Y / 2.0).tan(),
            yaw: 0.0,
            pitch: if top { 1.5 } else { 0.87 },
        }
    }

    /// Camera position.
    pub fn eye(&self) -> Vec3 {
        let (sp, cp) = self.pitch.sin_cos();
        let (sy, cy) = self.yaw.sin_cos();
        self.focus + self.distance * Vec3::new(cp * sy, sp, cp * cy)
    }

    /// World → view matrix.
    pub fn view(&self) -> Mat4 {
        Mat4::look_at_rh(self.eye(), self.focus, Vec3::Y)
    }

    /// World → clip matrix for a `w` × `h` image.
    pub fn view_proj(&self, w: f32, h: f32) -> Mat4 {
        Mat4::perspective_rh(FOV_Y, w / h, 1.0, 100_000.0) * self.view()
    }

    /// Pixel (from the top left) where a world point lands, or `None` behind the camera.
    pub fn project(&self, w: f32, h: f32, p: Vec3) -> Option<Vec2> {
        let c = self.view_proj(w, h) * Vec4::new(p.x, p.y, p.z, 1.0);
        if c.w <= 1e-6 {
            return None;
        }
        let n = c / c.w;
        Some(Vec2::new((n.x + 1.0) * 0.5 * w, (1.0 - n.y) * 0.5 * h))
    }

    /// The ray (origin, unit direction) through a pixel.
    pub fn ray(&self, w: f32, h: f32, px: Vec2) -> (Vec3, Vec3) {
        let t = (FOV_Y / 2.0).tan();
        let nx = px.x / w * 2.0 - 1.0;
        let ny = 1.0 - px.y / h * 2.0;
        let d = Vec3::new(nx * t * w / h, ny * t, -1.0);
        let to_world = self.view().inverse();
        (self.eye(), to_world.transform_vector3(d).normalize())
    }

    /// Metres on the ground per pixel at the focus.
    pub fn metres_per_pixel(&self, h: f32) -> f32 {
        2.0 * self.distance * (FOV_Y / 2.0).tan() / h
    }
}

/// Where a ray first meets the ground, in map coordinates (marching in half terrain steps).
pub fn ground_hit(origin: Vec3, dir: Vec3, t: &Terrain, f: &Frame) -> Option<[f64; 2]> {
    let step = (t.step as f32 / 2.0).max(0.5);
    let mut s = 0.0;
    let mut prev_above = true;
    let mut prev = origin;
    while s < 200_000.0 {
        let p = origin + dir * s;
        let [x, y] = f.map([p.x, p.y, p.z]);
        let g = (t.height_at(x, y) - f.z0) as f32;
        let above = p.y > g;
        if !above && prev_above && s > 0.0 {
            // Refine between prev and p by bisection.
            let (mut lo, mut hi) = (prev, p);
            for _ in 0..20 {
                let mid = (lo + hi) / 2.0;
                let [mx, my] = f.map([mid.x, mid.y, mid.z]);
                if mid.y > (t.height_at(mx, my) - f.z0) as f32 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            return Some(f.map([lo.x, lo.y, lo.z]));
        }
        if dir.y >= 0.0 && p.y > g + 1e4 {
            return None;
        }
        prev_above = above;
        prev = p;
        s += step;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_projects_to_the_centre_and_rays_come_back() {
        let c = OrbitCam::overview(Vec3::new(10.0, 0.0, -20.0), 3000.0, 3000.0, false);
        let p = c.project(1600.0, 900.0, c.focus).unwrap();
        assert!((p - Vec2::new(800.0, 450.0)).length() < 1e-2);
        let px = Vec2::new(300.0, 700.0);
        let (o, d) = c.ray(1600.0, 900.0, px);
        let back = c.project(1600.0, 900.0, o + d * 500.0).unwrap();
        assert!((back - px).length() < 0.05, "{back}");
        // North (−z) is up on the screen.
        let n = c
            .project(1600.0, 900.0, c.focus + Vec3::new(0.0, 0.0, -100.0))
            .unwrap();
        assert!(n.y < 450.0);
    }

    #[test]
    fn ray_meets_flat_ground_where_the_pixel_shows() {
        let t = Terrain::new(None, [[0.0, 0.0], [1000.0, 1000.0]]);
        let f = Frame {
            cx: 500.0,
            cy: 500.0,
            z0: 0.0,
        };
        let c = OrbitCam::overview(Vec3::ZERO, 1000.0, 1000.0, false);
        let target = f.world(620.0, 410.0, 0.0);
        let px = c.project(800.0, 600.0, Vec3::from(target)).unwrap();
        let (o, d) = c.ray(800.0, 600.0, px);
        let hit = ground_hit(o, d, &t, &f).unwrap();
        assert!(
            (hit[0] - 620.0).abs() < 0.5 && (hit[1] - 410.0).abs() < 0.5,
            "{hit:?}"
        );
    }
}
