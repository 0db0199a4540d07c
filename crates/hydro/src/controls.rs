//! Rule-based controls (SWMM 5 User's Manual §3.3.6 "Control Rules";
//! Reference Manual Vol. II §7.4).
//!
//! ```text
//! RULE name
//! IF <premise> [AND|OR <premise> ...]
//! THEN <action> [AND <action> ...]
//! [ELSE <action> [AND <action> ...]]
//! [PRIORITY p]
//! ```
//!
//! A premise compares a node (DEPTH, MAXDEPTH, HEAD, VOLUME, INFLOW, the
//! last being lateral inflow), a link (FLOW, DEPTH, STATUS, SETTING,
//! TIMEOPEN, TIMECLOSED; of conduits also FULLFLOW, FULLDEPTH, VELOCITY,
//! LENGTH, SLOPE) or the simulation clock (TIME, DATE, CLOCKTIME, DAYOFYEAR,
//! MONTH, DAY) with a number or with another variable. A variable a link
//! does not have (a weir's STATUS, a conduit's SETTING, TIMEOPEN of a closed
//! link) makes its premise false, as SWMM's missing values do. An action sets a pump,
//! orifice, weir, outlet or conduit STATUS (ON/OFF, OPEN/CLOSED) or SETTING:
//! a number, `CURVE name` (the setting read off a curve at the value of the
//! last premise compared), `TIMESERIES name` (the series' value at the
//! current date) or `PID kp ki kd` (a PID controller driving the last
//! premise's value towards its set point; Vol. II §7.4).
//! Premises are evaluated left to right (an OR clause is tried only when the
//! clauses before it failed); when two rules act on one link the one with the
//! higher priority wins, ties going to the rule listed first, as in SWMM.

use crate::error::EngineError;
use crate::inp::tokenize;

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Rel {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A quantity a premise can read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Var {
    /// Node depth (user length units).
    NodeDepth(usize),
    /// Node head (user length units).
    NodeHead(usize),
    /// Node lateral inflow (user flow units).
    NodeInflow(usize),
    /// Node full depth (user length units).
    NodeMaxDepth(usize),
    /// Node volume (user volume units).
    NodeVolume(usize),
    /// Link flow (user flow units, input direction).
    LinkFlow(usize),
    /// Link depth (user length units).
    LinkDepth(usize),
    /// Link status (1 open/on, 0 closed/off).
    LinkStatus(usize),
    /// Link setting.
    LinkSetting(usize),
    /// Conduit full flow (user flow units, all barrels).
    LinkFullFlow(usize),
    /// Conduit full depth (user length units).
    LinkFullDepth(usize),
    /// Conduit velocity (user length units per second).
    LinkVelocity(usize),
    /// Conduit length (user length units).
    LinkLength(usize),
    /// Conduit slope (fraction).
    LinkSlope(usize),
    /// Days since an open link last opened.
    LinkTimeOpen(usize),
    /// Days since a closed link last closed.
    LinkTimeClosed(usize),
    /// Elapsed simulation time (hours).
    Time,
    /// Time of day (hours).
    ClockTime,
    /// Month (1–12).
    Month,
    /// Day of week (1 = Sunday … 7).
    Day,
    /// Current date (days since 1970-01-01).
    Date,
    /// Day of the year (1–366).
    DayOfYear,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Rhs {
    Value(f64),
    Var(Var),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Premise {
    or: bool,
    lhs: Var,
    rel: Rel,
    rhs: Rhs,
}

/// How an action finds its setting.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum ActionValue {
    Fixed(f64),
    Curve(usize),
    Series(usize),
    /// Gain, integral and derivative times (minutes).
    Pid {
        kp: f64,
        ki: f64,
        kd: f64,
    },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Action {
    link: usize,
    value: ActionValue,
    /// PID errors of the last two evaluations.
    e1: f64,
    e2: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Rule {
    premises: Vec<Premise>,
    then: Vec<Action>,
    els: Vec<Action>,
    priority: f64,
}

/// Parsed control rules.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Rules {
    rules: Vec<Rule>,
    /// Left- and right-hand values of the last premise compared (SWMM's
    /// ControlValue and SetPoint), read by curve and PID actions.
    control_value: f64,
    set_point: f64,
}

/// What the rules need to know about the network and its current state.
pub trait ControlState {
    /// Node index by name (case-insensitive).
    fn node(&self, name: &str) -> Option<usize>;
    /// Link index by name (case-insensitive).
    fn link(&self, name: &str) -> Option<usize>;
    /// Current value of a variable; NaN when the object has none (a
    /// weir's STATUS, TIMEOPEN of a closed link).
    fn value(&self, v: &Var) -> f64;
    /// Curve index by name (case-insensitive).
    fn curve(&self, _name: &str) -> Option<usize> {
        None
    }
    /// Time series index by name (case-insensitive).
    fn series(&self, _name: &str) -> Option<usize> {
        None
    }
    /// A curve's value at x (linear, constant beyond its ends).
    fn curve_value(&self, _curve: usize, _x: f64) -> f64 {
        0.0
    }
    /// A time series' value at the current time (end values held beyond it).
    fn series_value(&self, _series: usize) -> f64 {
        0.0
    }
    /// The link's target setting before this evaluation.
    fn target_setting(&self, _link: usize) -> f64 {
        0.0
    }
    /// True for pumps, whose settings may exceed 1.
    fn is_pump(&self, _link: usize) -> bool {
        false
    }
}

fn err(rule: &str, m: impl Into<String>) -> EngineError {
    EngineError::Invalid {
        section: "CONTROLS",
        object: rule.to_string(),
        message: m.into(),
    }
}

fn parse_rel(s: &str) -> Option<Rel> {
    Some(match s {
        "=" => Rel::Eq,
        "<>" => Rel::Ne,
        "<" => Rel::Lt,
        "<=" => Rel::Le,
        ">" => Rel::Gt,
        ">=" => Rel::Ge,
        _ => return None,
    })
}

fn status_value(s: &str) -> Option<f64> {
    match s.to_ascii_uppercase().as_str() {
        "ON" | "OPEN" => Some(1.0),
        "OFF" | "CLOSED" => Some(0.0),
        _ => None,
    }
}

/// Parses a variable starting at `t[0]`; returns it and the number of tokens used.
fn parse_var(t: &[String], st: &dyn ControlState, rule: &str) -> Result<(Var, usize), EngineError> {
    let obj = t
        .first()
        .map(|s| s.to_ascii_uppercase())
        .unwrap_or_default();
    if obj == "SIMULATION" {
        let a = t.get(1).map(|s| s.to_ascii_uppercase()).unwrap_or_default();
        let v = match a.as_str() {
            "TIME" => Var::Time,
            "CLOCKTIME" => Var::ClockTime,
            "MONTH" => Var::Month,
            "DAY" => Var::Day,
            "DATE" => Var::Date,
            "DAYOFYEAR" => Var::DayOfYear,
            o => return Err(err(rule, format!("unknown SIMULATION attribute '{o}'"))),
        };
        return Ok((v, 2));
    }
    let id = t
        .get(1)
        .ok_or_else(|| err(rule, "premise needs an object, a name and an attribute"))?;
    let attr = t
        .get(2)
        .map(|s| s.to_ascii_uppercase())
        .ok_or_else(|| err(rule, "premise needs an attribute"))?;
    let v = match obj.as_str() {
        "NODE" | "JUNCTION" | "STORAGE" | "OUTFALL" => {
            let n = st
                .node(id)
                .ok_or_else(|| err(rule, format!("unknown node '{id}'")))?;
            match attr.as_str() {
                "DEPTH" => Var::NodeDepth(n),
                "HEAD" => Var::NodeHead(n),
                "INFLOW" => Var::NodeInflow(n),
                "VOLUME" => Var::NodeVolume(n),
                "MAXDEPTH" => Var::NodeMaxDepth(n),
                o => return Err(err(rule, format!("a node has no attribute '{o}'"))),
            }
        }
        "LINK" | "CONDUIT" | "PUMP" | "ORIFICE" | "WEIR" | "OUTLET" => {
            let l = st
                .link(id)
                .ok_or_else(|| err(rule, format!("unknown link '{id}'")))?;
            // Attributes by object keyword, as SWMM accepts them.
            let conduit = matches!(obj.as_str(), "LINK" | "CONDUIT");
            let regulator = !conduit && obj != "PUMP";
            match attr.as_str() {
                "FLOW" => Var::LinkFlow(l),
                "TIMEOPEN" => Var::LinkTimeOpen(l),
                "TIMECLOSED" => Var::LinkTimeClosed(l),
                "SETTING" if !conduit => Var::LinkSetting(l),
                "STATUS" if !regulator => Var::LinkStatus(l),
                "DEPTH" if conduit => Var::LinkDepth(l),
                "FULLFLOW" if conduit => Var::LinkFullFlow(l),
                "FULLDEPTH" if conduit => Var::LinkFullDepth(l),
                "VELOCITY" if conduit => Var::LinkVelocity(l),
                "LENGTH" if conduit => Var::LinkLength(l),
                "SLOPE" if conduit => Var::LinkSlope(l),
                o => return Err(err(rule, format!("{obj} has no attribute '{o}'"))),
            }
        }
        "GAGE" => {
            return Err(EngineError::Unsupported(
                "control premises on rain gauges".into(),
            ));
        }
        o => return Err(err(rule, format!("unknown premise object '{o}'"))),
    };
    Ok((v, 3))
}

fn parse_value(s: &str, lhs: &Var) -> Option<f64> {
    if let Some(v) = status_value(s) {
        return Some(v);
    }
    let num = || s.parse::<f64>().ok().filter(|x| x.is_finite());
    match lhs {
        Var::Time | Var::ClockTime => crate::inp::parse_hours(s),
        // SWMM's encoding of a duration in days (datetime_strToTime):
        // decimal hours over 24, or whole seconds of h:m:s over 86400.
        Var::LinkTimeOpen(_) | Var::LinkTimeClosed(_) => {
            let h = crate::inp::parse_hours(s)?;
            Some(if s.contains(':') {
                (h * 3600.0).round() / 86_400.0
            } else {
                h / 24.0
            })
        }
        Var::Date => {
            let (y, m, d) = crate::inp::parse_date(s)?;
            Some(crate::inp::days_from_civil(y, m, d) as f64)
        }
        // A month/day in a common year, or the day number itself.
        Var::DayOfYear => match crate::inp::parse_date(&format!("{s}/1947")) {
            Some((y, m, d)) => Some(
                (crate::inp::days_from_civil(y, m, d) - crate::inp::days_from_civil(y, 1, 1) + 1)
                    as f64,
            ),
            None => num().filter(|v| (1.0..=365.0).contains(v)),
        },
        Var::Day => num().filter(|v| (1.0..=7.0).contains(v)),
        Var::Month => num().filter(|v| (1.0..=12.0).contains(v)),
        _ => num(),
    }
}

impl Rules {
    /// Parses `[CONTROLS]` lines against the network.
    pub fn parse(lines: &[String], st: &dyn ControlState) -> Result<Self, EngineError> {
        let mut rules: Vec<Rule> = Vec::new();
        let mut name = String::new();
        #[derive(PartialEq)]
        enum Part {
            None,
            If,
            Then,
            Else,
        }
        let mut part = Part::None;
        for line in lines {
            let t = tokenize(line);
            let Some(kw) = t.first().map(|s| s.to_ascii_uppercase()) else {
                continue;
            };
            match kw.as_str() {
                "RULE" => {
                    name = t.get(1).cloned().unwrap_or_default();
                    rules.push(Rule {
                        premises: Vec::new(),
                        then: Vec::new(),
                        els: Vec::new(),
                        priority: 0.0,
                    });
                    part = Part::None;
                }
                "PRIORITY" => {
                    let r = rules
                        .last_mut()
                        .ok_or_else(|| err(&name, "PRIORITY before RULE"))?;
                    r.priority = t
                        .get(1)
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| err(&name, "PRIORITY expects a number"))?;
                }
                "IF" | "AND" | "OR" | "THEN" | "ELSE" => {
                    let r = rules
                        .last_mut()
                        .ok_or_else(|| err(&name, format!("{kw} before RULE")))?;
                    let is_action = match kw.as_str() {
                        "IF" => {
                            part = Part::If;
                            false
                        }
                        "THEN" => {
                            part = Part::Then;
                            true
                        }
                        "ELSE" => {
                            part = Part::Else;
                            true
                        }
                        _ => part != Part::If,
                    };
                    if part == Part::None {
                        return Err(err(&name, format!("{kw} before IF")));
                    }
                    if is_action {
                        // <object> <id> STATUS|SETTING = <value>
                        if t.len() < 6 || t[4] != "=" {
                            return Err(err(
                                &name,
                                format!(
                                    "action expects '<object> <name> STATUS|SETTING = <value>', found '{line}'"
                                ),
                            ));
                        }
                        let link = st
                            .link(&t[2])
                            .ok_or_else(|| err(&name, format!("unknown link '{}'", t[2])))?;
                        let attr = t[3].to_ascii_uppercase();
                        let value = match attr.as_str() {
                            "STATUS" => {
                                ActionValue::Fixed(status_value(&t[5]).ok_or_else(|| {
                                    err(
                                        &name,
                                        format!(
                                            "status expects ON/OFF/OPEN/CLOSED, found '{}'",
                                            t[5]
                                        ),
                                    )
                                })?)
                            }
                            "SETTING" => parse_setting(&t, st, &name, link, line)?,
                            o => {
                                return Err(err(
                                    &name,
                                    format!(
                                        "action attribute must be STATUS or SETTING, found '{o}'"
                                    ),
                                ));
                            }
                        };
                        let a = Action {
                            link,
                            value,
                            e1: 0.0,
                            e2: 0.0,
                        };
                        if part == Part::Else {
                            r.els.push(a);
                        } else {
                            r.then.push(a);
                        }
                    } else {
                        let (lhs, used) = parse_var(&t[1..], st, &name)?;
                        let rest = &t[1 + used..];
                        let rel = rest.first().and_then(|s| parse_rel(s)).ok_or_else(|| {
                            err(
                                &name,
                                format!("premise needs a relation (=, <>, <, <=, >, >=): '{line}'"),
                            )
                        })?;
                        let rhs_t = &rest[1..];
                        let rhs = if rhs_t.len() == 1 {
                            Rhs::Value(parse_value(&rhs_t[0], &lhs).ok_or_else(|| {
                                err(&name, format!("bad premise value '{}'", rhs_t[0]))
                            })?)
                        } else if rhs_t.is_empty() {
                            return Err(err(&name, format!("premise has no value: '{line}'")));
                        } else {
                            Rhs::Var(parse_var(rhs_t, st, &name)?.0)
                        };
                        r.premises.push(Premise {
                            or: kw == "OR",
                            lhs,
                            rel,
                            rhs,
                        });
                    }
                }
                "VARIABLE" | "EXPRESSION" => {
                    return Err(EngineError::Unsupported(format!(
                        "{kw} clauses in control rules"
                    )));
                }
                o => return Err(err(&name, format!("unknown clause keyword '{o}'"))),
            }
        }
        Ok(Rules {
            rules,
            ..Default::default()
        })
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Evaluates all rules; returns (link, target setting) actions after
    /// resolving conflicts by priority. `dt_h` is the routing step in hours:
    /// half of it is the tolerance of time equalities, and it is the PID
    /// controllers' time step. A rule's actions are taken last listed first,
    /// and among rules acting on one link the higher priority wins, ties
    /// going to the rule listed first, as in SWMM (controls.c).
    pub fn evaluate(&mut self, st: &dyn ControlState, dt_h: f64) -> Vec<(usize, f64)> {
        let mut chosen: Vec<(usize, f64, f64)> = Vec::new(); // link, value, priority
        let (mut cv, mut sp) = (self.control_value, self.set_point);
        for r in &mut self.rules {
            let mut result = true;
            for p in &r.premises {
                if p.or {
                    if !result {
                        result = eval_premise(p, st, dt_h / 2.0, &mut cv, &mut sp);
                    }
                } else {
                    if !result {
                        break;
                    }
                    result = eval_premise(p, st, dt_h / 2.0, &mut cv, &mut sp);
                }
            }
            let acts = if result { &mut r.then } else { &mut r.els };
            for a in acts.iter_mut().rev() {
                let v = action_value(a, st, cv, sp, dt_h);
                match chosen.iter_mut().find(|c| c.0 == a.link) {
                    Some(c) => {
                        if r.priority > c.2 {
                            *c = (a.link, v, r.priority);
                        }
                    }
                    None => chosen.push((a.link, v, r.priority)),
                }
            }
        }
        self.control_value = cv;
        self.set_point = sp;
        chosen.into_iter().map(|(l, v, _)| (l, v)).collect()
    }
}

/// The setting an action asks for now (SWMM controls.c updateActionValue).
fn action_value(a: &mut Action, st: &dyn ControlState, cv: f64, sp: f64, dt_h: f64) -> f64 {
    match a.value {
        ActionValue::Fixed(v) => v,
        ActionValue::Curve(c) => st.curve_value(c, cv),
        ActionValue::Series(ts) => st.series_value(ts),
        ActionValue::Pid { kp, ki, kd } => {
            // Recursive (velocity) form of the PID law on the relative error
            // between set point and controlled value (getPIDSetting).
            const TOL: f64 = 0.0001;
            let dt = dt_h * 60.0;
            let mut e0 = sp - cv;
            if e0.abs() > 1e-6 {
                e0 /= if sp != 0.0 { sp } else { cv };
            }
            if (e0 - a.e1).abs() < TOL {
                a.e1 = 0.0;
                a.e2 = 0.0;
            }
            let p = e0 - a.e1;
            let i = if ki == 0.0 { 0.0 } else { e0 * dt / ki };
            let d = kd * (e0 - 2.0 * a.e1 + a.e2) / dt;
            let mut update = kp * (p + i + d);
            if update.abs() < TOL {
                update = 0.0;
            }
            let mut setting = st.target_setting(a.link) + update;
            a.e2 = a.e1;
            a.e1 = e0;
            setting = setting.max(0.0);
            if !st.is_pump(a.link) && setting > 1.0 {
                setting = 1.0;
            }
            setting
        }
    }
}

/// The value of `<object> <name> SETTING = ...` (SWMM controls.c
/// setActionSetting): a number (0–1 except for pumps), CURVE name,
/// TIMESERIES name or PID kp ki kd.
fn parse_setting(
    t: &[String],
    st: &dyn ControlState,
    rule: &str,
    link: usize,
    line: &str,
) -> Result<ActionValue, EngineError> {
    let kind = t[5].to_ascii_uppercase();
    let arg = |k: usize| {
        t.get(k)
            .ok_or_else(|| err(rule, format!("{kind} needs more values: '{line}'")))
    };
    Ok(match kind.as_str() {
        "CURVE" => {
            let n = arg(6)?;
            ActionValue::Curve(
                st.curve(n)
                    .ok_or_else(|| err(rule, format!("unknown curve '{n}'")))?,
            )
        }
        "TIMESERIES" => {
            let n = arg(6)?;
            ActionValue::Series(
                st.series(n)
                    .ok_or_else(|| err(rule, format!("unknown time series '{n}'")))?,
            )
        }
        "PID" => {
            let num = |k: usize| -> Result<f64, EngineError> {
                let s = arg(k)?;
                s.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| err(rule, format!("PID coefficient '{s}' is not a number")))
            };
            ActionValue::Pid {
                kp: num(6)?,
                ki: num(7)?,
                kd: num(8)?,
            }
        }
        _ => {
            let v = t[5]
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    err(
                        rule,
                        format!(
                            "setting expects a number, CURVE, TIMESERIES or PID, found '{}'",
                            t[5]
                        ),
                    )
                })?;
            if !st.is_pump(link) && !(0.0..=1.0).contains(&v) {
                return Err(err(
                    rule,
                    format!("setting {v} of a regulator must be in [0, 1]"),
                ));
            }
            ActionValue::Fixed(v)
        }
    })
}

fn eval_premise(
    p: &Premise,
    st: &dyn ControlState,
    half_step_h: f64,
    control_value: &mut f64,
    set_point: &mut f64,
) -> bool {
    let lhs = st.value(&p.lhs);
    let rhs = match &p.rhs {
        Rhs::Value(v) => *v,
        Rhs::Var(v) => st.value(v),
    };
    if lhs.is_nan() || rhs.is_nan() {
        return false;
    }
    let link_time = matches!(p.lhs, Var::LinkTimeOpen(_) | Var::LinkTimeClosed(_));
    let is_time = link_time || matches!(p.lhs, Var::Time | Var::ClockTime);
    let window = matches!(p.rel, Rel::Eq | Rel::Ne);
    // Times compare within half a step for = and <>; otherwise they set the
    // control value and set point like any other value (SWMM's are in
    // days), and a link's open or closed time is the control value in hours.
    if !is_time || !window {
        let days = if is_time && !link_time { 24.0 } else { 1.0 };
        *set_point = rhs / days;
        *control_value = lhs / days;
    }
    if link_time {
        *control_value = lhs * 24.0;
    }
    let tol = match p.lhs {
        Var::LinkTimeOpen(_) | Var::LinkTimeClosed(_) => half_step_h / 24.0,
        Var::Time | Var::ClockTime => half_step_h,
        _ => 0.000_001,
    };
    match p.rel {
        Rel::Eq => (lhs - rhs).abs() < tol,
        Rel::Ne => (lhs - rhs).abs() >= tol,
        Rel::Lt => lhs < rhs,
        Rel::Le => lhs <= rhs,
        Rel::Gt => lhs > rhs,
        Rel::Ge => lhs >= rhs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct S {
        depth: f64,
    }
    impl ControlState for S {
        fn node(&self, n: &str) -> Option<usize> {
            (n.eq_ignore_ascii_case("SU1")).then_some(0)
        }
        fn link(&self, n: &str) -> Option<usize> {
            (n.eq_ignore_ascii_case("PUMP1")).then_some(3)
        }
        fn value(&self, v: &Var) -> f64 {
            match v {
                Var::NodeDepth(_) => self.depth,
                _ => 0.0,
            }
        }
    }

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(String::from).collect()
    }

    #[test]
    fn pump_on_off_rules_and_priority() {
        let r = Rules::parse(
            &lines("RULE A\nIF NODE SU1 DEPTH >= 4\nTHEN PUMP PUMP1 status = ON\nPRIORITY 1\nRULE B\nIF NODE SU1 DEPTH < 1\nTHEN PUMP PUMP1 STATUS = OFF\nELSE PUMP PUMP1 SETTING = 0.5\nPRIORITY 2"),
            &S { depth: 0.0 },
        )
        .unwrap();
        let mut r = r;
        assert_eq!(r.evaluate(&S { depth: 0.5 }, 0.0), vec![(3, 0.0)]);
        // A fires (ON, priority 1) and B's ELSE (0.5, priority 2) wins.
        assert_eq!(r.evaluate(&S { depth: 5.0 }, 0.0), vec![(3, 0.5)]);
    }

    #[test]
    fn pid_moves_the_setting_towards_the_set_point() {
        // Depth 1 below a set point of 2: relative error 0.5, so the first
        // update is kp·(e + e·dt/ki) = 0.5·(0.5 + 0.5·1/10) from setting 0.
        let mut r = Rules::parse(
            &lines("RULE P\nIF NODE SU1 DEPTH <> 2\nTHEN ORIFICE PUMP1 SETTING = PID 0.5 10 0"),
            &S { depth: 0.0 },
        )
        .unwrap();
        let a = r.evaluate(&S { depth: 1.0 }, 1.0 / 60.0);
        assert_eq!(a.len(), 1);
        assert!((a[0].1 - 0.275).abs() < 1e-12, "{:?}", a);
        // Settings of regulators stay within [0, 1].
        let a = r.evaluate(&S { depth: -50.0 }, 1.0 / 60.0);
        assert_eq!(a[0].1, 1.0);
    }

    #[test]
    fn bad_rules_are_located() {
        let e = Rules::parse(
            &lines("RULE X\nIF NODE NOPE DEPTH > 1\nTHEN PUMP PUMP1 STATUS = ON"),
            &S { depth: 0.0 },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("NOPE") && e.to_string().contains("X"),
            "{e}"
        );
        let e =
            Rules::parse(&lines("RULE X\nIF NODE SU1 DEPTH ~ 1"), &S { depth: 0.0 }).unwrap_err();
        assert!(e.to_string().contains("relation"), "{e}");
        for (action, why) in [
            ("ORIFICE PUMP1 SETTING = 1.5", "[0, 1]"),
            ("ORIFICE PUMP1 SETTING = CURVE NOPE", "unknown curve 'NOPE'"),
            ("ORIFICE PUMP1 SETTING = TIMESERIES", "needs more values"),
            ("ORIFICE PUMP1 SETTING = PID 1 x 0", "PID coefficient 'x'"),
            ("ORIFICE PUMP1 SETTING = HALF", "CURVE, TIMESERIES or PID"),
        ] {
            let text = format!("RULE Y\nIF NODE SU1 DEPTH > 1\nTHEN {action}");
            let e = Rules::parse(&lines(&text), &S { depth: 0.0 }).unwrap_err();
            assert!(
                e.to_string().contains(why) && e.to_string().contains('Y'),
                "{e}"
            );
        }
    }
}
