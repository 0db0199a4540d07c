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
//! A premise compares a node (DEPTH, HEAD, INFLOW, VOLUME), a link (FLOW,
//! DEPTH, STATUS, SETTING) or the simulation clock (TIME, CLOCKTIME, MONTH,
//! DAY) with a number or with another variable. An action sets a pump,
//! orifice, weir, outlet or conduit STATUS (ON/OFF, OPEN/CLOSED) or SETTING.
//! Premises are evaluated left to right (an OR clause is tried only when the
//! clauses before it failed); when two rules act on one link the one with the
//! higher priority wins, ties going to the rule listed first, as in SWMM.

use crate::engine::EngineError;
use crate::inp::tokenize;

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A quantity a premise can read.
#[derive(Debug, Clone, PartialEq)]
pub enum Var {
    /// Node depth (user length units).
    NodeDepth(usize),
    /// Node head (user length units).
    NodeHead(usize),
    /// Node total inflow (user flow units).
    NodeInflow(usize),
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
    /// Elapsed simulation time (hours).
    Time,
    /// Time of day (hours).
    ClockTime,
    /// Month (1–12).
    Month,
    /// Day of week (1 = Sunday … 7).
    Day,
}

#[derive(Debug, Clone, PartialEq)]
enum Rhs {
    Value(f64),
    Var(Var),
}

#[derive(Debug, Clone, PartialEq)]
struct Premise {
    or: bool,
    lhs: Var,
    rel: Rel,
    rhs: Rhs,
}

#[derive(Debug, Clone, PartialEq)]
struct Action {
    link: usize,
    value: f64,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    premises: Vec<Premise>,
    then: Vec<Action>,
    els: Vec<Action>,
    priority: f64,
}

/// Parsed control rules.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

/// What the rules need to know about the network and its current state.
pub trait ControlState {
    /// Node index by name (case-insensitive).
    fn node(&self, name: &str) -> Option<usize>;
    /// Link index by name (case-insensitive).
    fn link(&self, name: &str) -> Option<usize>;
    /// Current value of a variable.
    fn value(&self, v: &Var) -> f64;
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
            o => {
                return Err(EngineError::Unsupported(format!(
                    "control premise SIMULATION {o}"
                )));
            }
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
                o => {
                    return Err(EngineError::Unsupported(format!(
                        "control premise node attribute {o}"
                    )));
                }
            }
        }
        "LINK" | "CONDUIT" | "PUMP" | "ORIFICE" | "WEIR" | "OUTLET" => {
            let l = st
                .link(id)
                .ok_or_else(|| err(rule, format!("unknown link '{id}'")))?;
            match attr.as_str() {
                "FLOW" => Var::LinkFlow(l),
                "DEPTH" => Var::LinkDepth(l),
                "STATUS" => Var::LinkStatus(l),
                "SETTING" => Var::LinkSetting(l),
                o => {
                    return Err(EngineError::Unsupported(format!(
                        "control premise link attribute {o}"
                    )));
                }
            }
        }
        o => {
            return Err(EngineError::Unsupported(format!(
                "control premise object {o}"
            )));
        }
    };
    Ok((v, 3))
}

fn parse_value(s: &str, lhs: &Var) -> Option<f64> {
    if let Some(v) = status_value(s) {
        return Some(v);
    }
    match lhs {
        Var::Time | Var::ClockTime => crate::inp::parse_hours(s),
        _ => s.parse::<f64>().ok().filter(|x| x.is_finite()),
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
                            "STATUS" => status_value(&t[5]).ok_or_else(|| {
                                err(
                                    &name,
                                    format!("status expects ON/OFF/OPEN/CLOSED, found '{}'", t[5]),
                                )
                            })?,
                            "SETTING" => match t[5].parse::<f64>() {
                                Ok(v) if v.is_finite() => v,
                                _ => {
                                    return Err(EngineError::Unsupported(format!(
                                        "control setting '{}' (curves, time series, PID)",
                                        t[5]
                                    )));
                                }
                            },
                            o => {
                                return Err(err(
                                    &name,
                                    format!(
                                        "action attribute must be STATUS or SETTING, found '{o}'"
                                    ),
                                ));
                            }
                        };
                        let a = Action { link, value };
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
                o => return Err(err(&name, format!("unknown clause keyword '{o}'"))),
            }
        }
        Ok(Rules { rules })
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Evaluates all rules; returns (link, target setting) actions after
    /// resolving conflicts by priority. `half_step` is half the routing step
    /// in hours, the tolerance of time equalities.
    pub fn evaluate(&self, st: &dyn ControlState, half_step_h: f64) -> Vec<(usize, f64)> {
        let mut chosen: Vec<(usize, f64, f64)> = Vec::new(); // link, value, priority
        for r in &self.rules {
            let mut result = true;
            for p in &r.premises {
                if p.or {
                    if !result {
                        result = eval_premise(p, st, half_step_h);
                    }
                } else {
                    if !result {
                        break;
                    }
                    result = eval_premise(p, st, half_step_h);
                }
            }
            let acts = if result { &r.then } else { &r.els };
            for a in acts {
                match chosen.iter_mut().find(|c| c.0 == a.link) {
                    Some(c) => {
                        if r.priority > c.2 {
                            *c = (a.link, a.value, r.priority);
                        }
                    }
                    None => chosen.push((a.link, a.value, r.priority)),
                }
            }
        }
        chosen.into_iter().map(|(l, v, _)| (l, v)).collect()
    }
}

fn eval_premise(p: &Premise, st: &dyn ControlState, half_step_h: f64) -> bool {
    let lhs = st.value(&p.lhs);
    let rhs = match &p.rhs {
        Rhs::Value(v) => *v,
        Rhs::Var(v) => st.value(v),
    };
    let is_time = matches!(p.lhs, Var::Time | Var::ClockTime);
    let tol = if is_time { half_step_h } else { 0.000_001 };
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
        assert_eq!(r.evaluate(&S { depth: 0.5 }, 0.0), vec![(3, 0.0)]);
        // A fires (ON, priority 1) and B's ELSE (0.5, priority 2) wins.
        assert_eq!(r.evaluate(&S { depth: 5.0 }, 0.0), vec![(3, 0.5)]);
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
    }
}
