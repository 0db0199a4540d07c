// Local-inertial 2D shallow-water step (Bates, Horritt & Fewtrell 2010, J. Hydrol. 387, 33-45,
// eq. 11, with the theta-weighted momentum of de Almeida, Bates, Freer & Souvignet 2012,
// Water Resour. Res. 48, W05528, eq. 14) on a staggered raster: depth h at cell centres,
// unit discharge on the faces. The same scheme, in f32, as crates/surface/src/kernel.rs:
//
//   q' (1 + g dt n^2 |q'| / h_f^(7/3)) = theta q + (1-theta)/2 (q_-1 + q_+1)
//                                        - g h_f dt (eta_R - eta_L)/dx
//   (friction fully implicit, solved as a quadratic in q')
//   h' = h + dt/dx (q_W - q_E + q_N - q_S) + (r - f) dt
//
// One step is six dispatches: momentum_x, momentum_y, limiter, continuity, finish, edges.
// Reductions: workgroup trees, then atomicMax on the bit pattern of a non-negative f32 (the
// order of u32 bit patterns is the order of non-negative floats) or per-workgroup partial
// sums that `finish` adds up. Everything is deterministic for a given grid.
//
// Layout: q holds the x-faces ((nx+1) * ny, face i of row j at j*(nx+1)+i, between cells i-1
// and i) followed by the y-faces (nx * (ny+1), face row j between cell rows j-1 and j).

const WG: u32 = 256u;

struct Params {
    nx: u32,
    ny: u32,
    nqx: u32,
    n: u32,
    dt: f32,
    dt_dx: f32,
    g: f32,
    theta: f32,
    u_cap: f32,
    u_cap_sqrt_h: f32,
    dry: f32,
    t_end: f32,
    rain_dt: f32,
    rain_per_cell: u32,
    threshold: f32,
    nclass: u32,
    nwg_cells: u32,
    g_dt_dx: f32,
    g_dt: f32,
    pad: u32,
    // edge conditions, north, south, west, east: 0 closed, 1 inflow (val = discharge),
    // 2 free overfall, 3 normal depth (val = slope), 4 fixed stage (val = level)
    edge_kind: vec4<u32>,
    edge_val: vec4<f32>,
};

struct Cell {
    z: f32,
    n: f32,
    wet: u32,
    cls: u32,
};

struct Red {
    hmax: atomic<u32>,
    umax: atomic<u32>,
    infil: f32,
    pad: f32,
    edge_in: array<f32, 4>,
    edge_out: array<f32, 4>,
    partials: array<f32>,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> cells: array<Cell>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<storage, read_write> q: array<f32>;
@group(0) @binding(4) var<storage, read_write> qn: array<f32>;
@group(0) @binding(5) var<storage, read_write> lim: array<f32>;
// per cell: max depth, time of max, duration above threshold, max hazard
@group(0) @binding(6) var<storage, read_write> stats: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> red: Red;
// infiltration rate per class (m/s), then rain per cell (m/s) when rain_per_cell != 0
@group(0) @binding(8) var<storage, read> aux: array<f32>;

var<workgroup> wa: array<f32, WG>;
var<workgroup> wb: array<f32, WG>;

fn flat(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}

// Tree reduction over the workgroup: wa summed or maxed, wb summed or maxed.
fn reduce(li: u32, a_is_max: bool, b_is_max: bool) {
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (li < s) {
            if (a_is_max) {
                wa[li] = max(wa[li], wa[li + s]);
            } else {
                wa[li] = wa[li] + wa[li + s];
            }
            if (b_is_max) {
                wb[li] = max(wb[li], wb[li + s]);
            } else {
                wb[li] = wb[li] + wb[li + s];
            }
        }
        workgroupBarrier();
    }
}

// b = g dt n^2 / h_f^(7/3) of the friction term.
fn friction_coefficient(hf: f32, n: f32) -> f32 {
    return P.g_dt * n * n * pow(hf, -7.0 / 3.0);
}

// Momentum update with the friction taken fully implicitly: the root of q (1 + b |q|) = rhs,
// q = 2 rhs / (1 + sqrt(1 + 4 b |rhs|)) (see implicit_friction in crates/surface/src/kernel.rs).
fn inertial(q_avg: f32, hf: f32, deta: f32, n: f32) -> f32 {
    let rhs = q_avg - P.g_dt_dx * hf * deta;
    let b = friction_coefficient(hf, n);
    return 2.0 * rhs / (1.0 + sqrt(1.0 + 4.0 * b * abs(rhs)));
}

fn theta_average(q0: f32, qm: f32, qp: f32) -> f32 {
    return P.theta * q0 + 0.5 * (1.0 - P.theta) * (qm + qp);
}

fn open_outflow(hh: f32, n: f32, kind: u32, slope: f32) -> f32 {
    let hc = 2.0 * hh / 3.0;
    let q_crit = sqrt(P.g * hc) * hc;
    if (kind == 3u && n > 0.0) {
        return min(pow(hh, 5.0 / 3.0) * sqrt(slope) / n, q_crit);
    }
    return q_crit;
}

// Discharge across an edge face whose inner cell is c, and the depth that turns it into a
// speed. sign is +1 when the outside lies toward growing index (east, south).
fn edge_face(e: u32, c: u32, sign: f32, q0: f32, qin: f32) -> vec2<f32> {
    let cell = cells[c];
    let kind = P.edge_kind[e];
    let val = P.edge_val[e];
    if (cell.wet == 0u || kind == 0u) {
        return vec2<f32>(0.0, 0.0);
    }
    let hh = h[c];
    if (kind == 1u) {
        var hc = 0.0;
        if (val > 0.0) {
            hc = pow(val * val / P.g, 1.0 / 3.0);
        }
        return vec2<f32>(-sign * val, max(hh, hc));
    }
    if (kind == 2u || kind == 3u) {
        if (hh <= P.dry) {
            return vec2<f32>(0.0, 0.0);
        }
        return vec2<f32>(sign * open_outflow(hh, cell.n, kind, val), hh);
    }
    // fixed stage: a ghost cell at the given level whose bed is the edge cell's bed
    let eta = cell.z + hh;
    let hf = max(eta, val) - cell.z;
    if (hf <= P.dry) {
        return vec2<f32>(0.0, 0.0);
    }
    let cap = hf * max(P.u_cap, P.u_cap_sqrt_h * sqrt(hf));
    let a = clamp(q0, -cap, cap);
    let b = clamp(qin, -cap, cap);
    var deta = eta - val;
    if (sign > 0.0) {
        deta = val - eta;
    }
    var qq = clamp(inertial(theta_average(a, b, a), hf, deta, cell.n), -cap, cap);
    // a ghost at or below the bed holds no water: it takes what leaves, gives nothing
    if (val - cell.z <= P.dry) {
        if (sign > 0.0) {
            qq = max(qq, 0.0);
        } else {
            qq = min(qq, 0.0);
        }
    }
    return vec2<f32>(qq, hf);
}

fn inner_face(l: u32, r: u32, q0: f32, qm: f32, qp: f32) -> vec2<f32> {
    let cl = cells[l];
    let cr = cells[r];
    if (cl.wet == 0u || cr.wet == 0u) {
        return vec2<f32>(0.0, 0.0);
    }
    let el = cl.z + h[l];
    let er = cr.z + h[r];
    let hf = max(el, er) - max(cl.z, cr.z);
    if (hf <= P.dry) {
        return vec2<f32>(0.0, 0.0);
    }
    let n = 0.5 * (cl.n + cr.n);
    let cap = hf * P.u_cap;
    let a = clamp(q0, -cap, cap);
    let qq = inertial(theta_average(a, clamp(qm, -cap, cap), clamp(qp, -cap, cap)), hf, er - el, n);
    return vec2<f32>(clamp(qq, -cap, cap), hf);
}

fn speed(r: vec2<f32>) -> f32 {
    if (r.y > 0.0) {
        return abs(r.x) / r.y;
    }
    return 0.0;
}

fn finish_speed(li: u32) {
    reduce(li, true, true);
    if (li == 0u) {
        atomicMax(&red.umax, bitcast<u32>(max(wa[0], 0.0)));
    }
}

@compute @workgroup_size(256)
fn momentum_x(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let k = flat(wid, nwg) * WG + li;
    var s = 0.0;
    if (k < P.nqx) {
        let nx = P.nx;
        let w = nx + 1u;
        let j = k / w;
        let i = k % w;
        let o = j * w;
        var r: vec2<f32>;
        if (i == 0u) {
            r = edge_face(2u, j * nx, -1.0, q[o], q[o + min(1u, nx)]);
        } else if (i == nx) {
            r = edge_face(3u, j * nx + nx - 1u, 1.0, q[o + nx], q[o + nx - 1u]);
        } else {
            r = inner_face(j * nx + i - 1u, j * nx + i, q[o + i], q[o + i - 1u], q[o + i + 1u]);
        }
        qn[k] = r.x;
        s = speed(r);
    }
    wa[li] = s;
    wb[li] = 0.0;
    finish_speed(li);
}

@compute @workgroup_size(256)
fn momentum_y(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let k = flat(wid, nwg) * WG + li;
    let nx = P.nx;
    let ny = P.ny;
    var s = 0.0;
    if (k < nx * (ny + 1u)) {
        let j = k / nx;
        let i = k % nx;
        let b = P.nqx;
        var r: vec2<f32>;
        if (j == 0u) {
            r = edge_face(0u, i, -1.0, q[b + i], q[b + nx + i]);
        } else if (j == ny) {
            r = edge_face(1u, (ny - 1u) * nx + i, 1.0, q[b + k], q[b + k - nx]);
        } else {
            r = inner_face(k - nx, k, q[b + k], q[b + k - nx], q[b + k + nx]);
        }
        qn[b + k] = r.x;
        s = speed(r);
    }
    wa[li] = s;
    wb[li] = 0.0;
    finish_speed(li);
}

// Share of each cell's outgoing discharge that its water can supply during the step.
@compute @workgroup_size(256)
fn limiter(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let c = flat(wid, nwg) * WG + li;
    if (c >= P.n) {
        return;
    }
    let nx = P.nx;
    let j = c / nx;
    let i = c % nx;
    let xw = qn[j * (nx + 1u) + i];
    let xe = qn[j * (nx + 1u) + i + 1u];
    let yn = qn[P.nqx + c];
    let ys = qn[P.nqx + c + nx];
    let outflow = max(xe, 0.0) + max(-xw, 0.0) + max(ys, 0.0) + max(-yn, 0.0);
    let need = outflow * P.dt_dx;
    let have = h[c];
    var f = 1.0;
    if (need > have) {
        f = have / need;
    }
    lim[c] = f;
}

fn lim_x(j: u32, i: u32) -> f32 {
    let nx = P.nx;
    let qq = qn[j * (nx + 1u) + i];
    if (qq > 0.0 && i > 0u) {
        return qq * lim[j * nx + i - 1u];
    }
    if (qq < 0.0 && i < nx) {
        return qq * lim[j * nx + i];
    }
    return qq;
}

fn lim_y(jf: u32, i: u32) -> f32 {
    let nx = P.nx;
    let qq = qn[P.nqx + jf * nx + i];
    if (qq > 0.0 && jf > 0u) {
        return qq * lim[(jf - 1u) * nx + i];
    }
    if (qq < 0.0 && jf < P.ny) {
        return qq * lim[jf * nx + i];
    }
    return qq;
}

// Continuity with rain, infiltration and statistics; stores the limited discharges (each face
// by exactly one thread) for the next step and the edge ledger.
@compute @workgroup_size(256)
fn continuity(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let wgi = flat(wid, nwg);
    let c = wgi * WG + li;
    var infil = 0.0;
    var dmax = 0.0;
    if (c < P.n) {
        let nx = P.nx;
        let j = c / nx;
        let i = c % nx;
        let xw = lim_x(j, i);
        let xe = lim_x(j, i + 1u);
        let yn = lim_y(j, i);
        let ys = lim_y(j + 1u, i);
        q[j * (nx + 1u) + i] = xw;
        if (i + 1u == nx) {
            q[j * (nx + 1u) + nx] = xe;
        }
        q[P.nqx + c] = yn;
        if (j + 1u == P.ny) {
            q[P.nqx + c + nx] = ys;
        }
        let cell = cells[c];
        if (cell.wet != 0u) {
            let net = (xw - xe + yn - ys) * P.dt_dx;
            var d = max(h[c] + net, 0.0);
            var r = P.rain_dt;
            if (P.rain_per_cell != 0u) {
                r = aux[P.nclass + c] * P.dt;
            }
            d = d + r;
            let f = min(aux[cell.cls] * P.dt, d);
            d = d - f;
            h[c] = d;
            infil = f;
            dmax = d;
            var st = stats[c];
            if (d > st.x) {
                st.x = d;
                st.y = P.t_end;
            }
            if (d > P.threshold) {
                st.z = st.z + P.dt;
            }
            if (d > P.dry) {
                let qxc = 0.5 * (xw + xe);
                let qyc = 0.5 * (yn + ys);
                st.w = max(st.w, sqrt(qxc * qxc + qyc * qyc));
            }
            stats[c] = st;
        }
    }
    wa[li] = infil;
    wb[li] = dmax;
    reduce(li, false, true);
    if (li == 0u) {
        red.partials[wgi] = wa[0];
        atomicMax(&red.hmax, bitcast<u32>(max(wb[0], 0.0)));
    }
}

// One workgroup: adds up the continuity partial sums of infiltration.
@compute @workgroup_size(256)
fn finish(@builtin(local_invocation_index) li: u32) {
    var s = 0.0;
    for (var b = 0u; b < P.nwg_cells; b = b + WG) {
        let k = b + li;
        if (k < P.nwg_cells) {
            s = s + red.partials[k];
        }
    }
    wa[li] = s;
    wb[li] = 0.0;
    reduce(li, false, false);
    if (li == 0u) {
        red.infil = wa[0];
    }
}

// Four workgroups, one per edge (north, south, west, east): inflow and outflow sums of the
// limited edge discharges, m^2/s, inward positive.
@compute @workgroup_size(256)
fn edges(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let e = wid.x;
    let nx = P.nx;
    let ny = P.ny;
    var count = ny;
    if (e < 2u) {
        count = nx;
    }
    var sin = 0.0;
    var sout = 0.0;
    for (var b = 0u; b < count; b = b + WG) {
        let t = b + li;
        if (t < count) {
            var v: f32;
            if (e == 0u) {
                v = q[P.nqx + t];
            } else if (e == 1u) {
                v = -q[P.nqx + ny * nx + t];
            } else if (e == 2u) {
                v = q[t * (nx + 1u)];
            } else {
                v = -q[t * (nx + 1u) + nx];
            }
            if (v >= 0.0) {
                sin = sin + v;
            } else {
                sout = sout - v;
            }
        }
    }
    wa[li] = sin;
    wb[li] = sout;
    reduce(li, false, false);
    if (li == 0u) {
        red.edge_in[e] = wa[0];
        red.edge_out[e] = wb[0];
    }
}

// Partial sums of the depth per workgroup (the storage term of the ledger, added up in f64 on
// the host).
@compute @workgroup_size(256)
fn sum_depth(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let wgi = flat(wid, nwg);
    let c = wgi * WG + li;
    var v = 0.0;
    if (c < P.n) {
        v = h[c];
    }
    wa[li] = v;
    wb[li] = 0.0;
    reduce(li, false, false);
    if (li == 0u) {
        red.partials[wgi] = wa[0];
    }
}
