//! The report: a row per check, a target per URL, and the table, JSON and exit code
//! they come out as.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

/// Rows about the process behind a URL rather than one of its services.
const PROCESS: &str = "(process)";

/// How a check came out. Ordered from best to worst; `Info` rows carry no threshold and
/// never change the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// A figure shown for context (request rate, CPU, memory).
    Info,
    Ok,
    Warning,
    Critical,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Info => "INFO",
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
        }
    }

    /// Judges a figure against a warning and a critical threshold, both exceeded
    /// strictly. A figure that is not a number cannot be called fine.
    pub(super) fn judge(value: f64, warning: f64, critical: f64) -> Status {
        if value.is_nan() {
            Status::Warning
        } else if value > critical {
            Status::Critical
        } else if value > warning {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// The service the row is about; `None` for the process behind the URL as a whole.
    pub service: Option<String>,
    /// What is checked: `health db`, `error rate`, `p99 latency`, …
    pub check: String,
    /// The figure in `unit`, for scripts; `None` for states such as UP/DOWN.
    pub value: Option<f64>,
    pub unit: Option<&'static str>,
    /// The figure as a person reads it.
    pub shown: String,
    pub threshold: &'static str,
    pub status: Status,
    /// Why the figure is what it is, when that is not obvious (an error, a fallback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Check {
    pub(super) fn new(
        service: Option<&str>,
        check: impl Into<String>,
        status: Status,
        shown: impl Into<String>,
        threshold: &'static str,
    ) -> Check {
        Check {
            service: service.map(str::to_owned),
            check: check.into(),
            value: None,
            unit: None,
            shown: shown.into(),
            threshold,
            status,
            note: None,
        }
    }

    pub(super) fn value(mut self, value: f64, unit: &'static str) -> Check {
        self.value = Some(value);
        self.unit = Some(unit);
        self
    }

    pub(super) fn note(mut self, note: impl Into<String>) -> Check {
        self.note = Some(note.into());
        self
    }

    pub(super) fn note_if(self, note: Option<&str>) -> Check {
        match note {
            Some(n) => self.note(n),
            None => self,
        }
    }
}

/// What the rates and the p99 of a target describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rates {
    /// The window between the two scrapes.
    Window,
    /// The process's whole life: a scrape failed or the two reached different processes.
    SinceStart,
    /// No scrape succeeded.
    Unknown,
}

/// Everything found behind one management URL.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    pub url: String,
    pub rates: Rates,
    /// Seconds between the two scrapes the rates come from, for `Rates::Window`.
    pub window_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub checks: Vec<Check>,
}

impl Target {
    /// The worst status of its checks.
    pub fn status(&self) -> Status {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Ok)
    }
}

/// The outcome of a health check over every URL.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub interval: Duration,
    pub targets: Vec<Target>,
}

impl Report {
    pub fn checks(&self) -> impl Iterator<Item = &Check> {
        self.targets.iter().flat_map(|t| t.checks.iter())
    }

    /// The worst status of all checks. Checking nothing is not a clean bill of health.
    pub fn status(&self) -> Status {
        if self.targets.is_empty() {
            return Status::Critical;
        }
        self.checks()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Ok)
            .max(Status::Ok)
    }

    /// 0 all OK, 1 the worst is a warning, 2 the worst is critical (the scale
    /// `ops/daily-health-check.sh` adds up).
    pub fn exit_code(&self) -> i32 {
        match self.status() {
            Status::Info | Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
        }
    }

    fn count(&self, status: Status) -> usize {
        self.checks().filter(|c| c.status == status).count()
    }

    /// One line: the outcome and how many checks came out how.
    pub fn summary(&self) -> String {
        if self.targets.is_empty() {
            return "CRITICAL: no URL to check (exit 2)".to_owned();
        }
        let urls = self.targets.len();
        format!(
            "{}: {} critical, {} warning, {} OK, {} informational across {urls} URL{} (exit {})",
            self.status(),
            self.count(Status::Critical),
            self.count(Status::Warning),
            self.count(Status::Ok),
            self.count(Status::Info),
            if urls == 1 { "" } else { "s" },
            self.exit_code()
        )
    }

    /// The aligned table: per URL a heading and one row per check, columns aligned
    /// across the whole report, then the summary line.
    pub fn table(&self) -> String {
        const HEADINGS: [&str; 6] = ["SERVICE", "CHECK", "VALUE", "THRESHOLD", "STATUS", "NOTE"];
        let rows: Vec<Vec<[String; 6]>> = self
            .targets
            .iter()
            .map(|t| {
                t.checks
                    .iter()
                    .map(|c| {
                        [
                            c.service.clone().unwrap_or_else(|| PROCESS.to_owned()),
                            c.check.clone(),
                            c.shown.clone(),
                            c.threshold.to_owned(),
                            c.status.to_string(),
                            c.note.clone().unwrap_or_default(),
                        ]
                    })
                    .collect()
            })
            .collect();
        let mut widths = HEADINGS.map(|h| h.chars().count());
        for row in rows.iter().flatten() {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String; 6]| {
            let mut line = String::from("  ");
            for (cell, width) in cells.iter().zip(widths) {
                line.push_str(&format!("{cell:<width$}  "));
            }
            format!("{}\n", line.trim_end())
        };
        let mut out = String::new();
        for (target, rows) in self.targets.iter().zip(&rows) {
            let basis = match (target.rates, target.window_seconds) {
                (Rates::Window, Some(s)) => format!("rates over the last {s:.2} s"),
                (Rates::Window | Rates::SinceStart, _) => {
                    "rates since the process started".to_owned()
                }
                (Rates::Unknown, _) => "no metrics".to_owned(),
            };
            out.push_str(&format!("{}  ({basis})\n", target.url));
            if let Some(note) = &target.note {
                out.push_str(&format!("  note: {note}\n"));
            }
            out.push_str(&line(&HEADINGS.map(str::to_owned)));
            for row in rows {
                out.push_str(&line(row));
            }
            out.push('\n');
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// The same report for scripts.
    pub fn json(&self) -> Value {
        json!({
            "status": self.status(),
            "exit_code": self.exit_code(),
            "summary": {
                "critical": self.count(Status::Critical),
                "warning": self.count(Status::Warning),
                "ok": self.count(Status::Ok),
                "info": self.count(Status::Info),
            },
            "interval_seconds": self.interval.as_secs_f64(),
            "targets": self.targets,
        })
    }
}
