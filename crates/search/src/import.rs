//! Schedules and fares in: an airline's SSIM file and fare CSV read, judged against the
//! shipped airports (every station known, every period possible, UTC variations as
//! each station's IANA zone has them on every date), and written in one transaction
//! (see [`SearchStore::import_schedule`]). `ota seed`, `ota catalog import` and the
//! internal import endpoint all come through here.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{Duration, NaiveDate};
use ota_content::{fares, pricing, ssim};

use crate::catalog::{self, Airport};
use crate::schedule::{PublishedFare, ScheduledLeg};
use crate::store::{ImportReport, ScheduleImport, SearchStore, Window};

/// The currency fares are sold in.
pub const SELLING_CURRENCY: &str = crate::seed::CURRENCY;

/// How far an open period ("until further notice") is read, from its first date.
pub const OPEN_PERIOD_DAYS: i64 = 365;

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct Files {
    /// Where the files came from, for the import log.
    pub source: String,
    /// SSIM chapter 7 text.
    pub ssim: Option<String>,
    /// Fare CSV text.
    pub fares: Option<String>,
    /// Replace only the flights the file contains (else the carrier's whole schedule in
    /// the file's period of validity).
    pub merge: bool,
}

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("nothing to import: give a schedule, fares or both")]
    Empty,
    /// The schedule cannot be read or fails its checks; each error names its line.
    #[error("the schedule is refused: {}", list(.0))]
    Schedule(Vec<String>),
    /// The fare file cannot be read or fails its checks; each error names its line.
    #[error("the fares are refused: {}", list(.0))]
    Fares(Vec<String>),
    #[error(transparent)]
    Store(#[from] ota_platform::StoreError),
}

fn list(errors: &[String]) -> String {
    errors.join("; ")
}

impl ImportError {
    /// Every error found, one per line.
    pub fn lines(&self) -> Vec<String> {
        match self {
            ImportError::Schedule(e) | ImportError::Fares(e) => e.clone(),
            // With its cause: "database error" alone says nothing to an operator.
            other => {
                let mut line = other.to_string();
                let mut source = std::error::Error::source(other);
                while let Some(cause) = source {
                    line.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                vec![line]
            }
        }
    }
}

/// Reads and checks the files into what the store writes. Nothing is written here.
pub fn prepare(
    files: &Files,
    stored_fares: &[fares::Fare],
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<ScheduleImport, ImportError> {
    if files.ssim.is_none() && files.fares.is_none() {
        return Err(ImportError::Empty);
    }
    let shipped = catalog::airports();
    let by_code: BTreeMap<&str, &Airport> = shipped.iter().map(|a| (a.iata.as_str(), a)).collect();
    let zones = |code: &str| by_code.get(code).map(|a| a.tz);
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut import = ScheduleImport {
        source: files.source.clone(),
        ..Default::default()
    };
    let mut schedule = None;
    let mut file_fares = None;
    if let Some(text) = &files.ssim {
        let s =
            ssim::read(text, progress).map_err(|e| ImportError::Schedule(vec![e.to_string()]))?;
        ssim::check(&s, &zones).map_err(|errors| {
            ImportError::Schedule(errors.iter().map(ToString::to_string).collect())
        })?;
        let mut errors = Vec::new();
        for block in &s.carriers {
            let c = &block.carrier;
            let last = block
                .legs
                .iter()
                .map(|l| {
                    l.period_to
                        .unwrap_or(l.period_from + Duration::days(OPEN_PERIOD_DAYS))
                })
                .max();
            let to = c.valid_to.or(last).unwrap_or(c.valid_from);
            let mut flights = HashSet::new();
            for leg in &block.legs {
                let stored = ScheduledLeg::from_ssim(c.time_mode, leg, to);
                if stored.dated(stored.period_from).id().is_none() {
                    errors.push(format!(
                        "line {}: {} cannot be sold: a carrier of 2-3 letters or digits, a number 1-9999 and a three-letter airport are needed",
                        leg.line, leg.flight
                    ));
                    continue;
                }
                if stored.cabins.is_empty() {
                    errors.push(format!(
                        "line {}: {} has no seats in a cabin we sell (F, C/J, W, Y)",
                        leg.line, leg.flight
                    ));
                    continue;
                }
                flights.insert(leg.flight.number);
                used.insert(stored.origin.clone());
                used.insert(stored.destination.clone());
                import.legs.push(stored);
            }
            import.windows.push(Window {
                carrier: c.designator.clone(),
                from: c.valid_from,
                to,
                flights: files.merge.then_some(flights),
            });
            if !catalog::CARRIERS.iter().any(|k| k.code == c.designator) {
                import
                    .carriers
                    .push((c.designator.clone(), c.designator.clone()));
            }
        }
        errors.extend(shared_dated_legs(&import.legs));
        if !errors.is_empty() {
            return Err(ImportError::Schedule(errors));
        }
        schedule = Some(s);
    }
    if let Some(text) = &files.fares {
        let read = fares::read(text).map_err(|errors| {
            ImportError::Fares(errors.iter().map(ToString::to_string).collect())
        })?;
        let mut errors = Vec::new();
        let mut out = Vec::new();
        for f in &read {
            for code in [&f.origin, &f.destination] {
                if !by_code.contains_key(code.as_str()) {
                    errors.push(format!("line {}: unknown airport {code}", f.line));
                }
            }
            if f.currency != SELLING_CURRENCY {
                errors.push(format!(
                    "line {}, column currency: fares are sold in {SELLING_CURRENCY}, not {}",
                    f.line, f.currency
                ));
            }
            match PublishedFare::from_file(f) {
                Some(p) => {
                    used.insert(p.origin.clone());
                    used.insert(p.destination.clone());
                    out.push(p);
                }
                None => errors.push(format!("line {}, column cabin: unknown cabin", f.line)),
            }
        }
        if !errors.is_empty() {
            return Err(ImportError::Fares(errors));
        }
        for c in read
            .iter()
            .map(|f| f.carrier.as_str())
            .collect::<BTreeSet<_>>()
        {
            if !catalog::CARRIERS.iter().any(|k| k.code == c)
                && !import.carriers.iter().any(|(k, _)| k == c)
            {
                import.carriers.push((c.to_owned(), c.to_owned()));
            }
        }
        file_fares = Some(read);
        import.fares = Some(out);
    }
    // A schedule must be priced in every cabin it sells on every date: by the fares
    // that come with it, or by those already stored when it comes alone.
    if let Some(s) = &schedule {
        let until = import
            .windows
            .iter()
            .map(|w| w.to)
            .max()
            .unwrap_or_default();
        let priced_by = file_fares.as_deref().unwrap_or(stored_fares);
        let mut gaps: Vec<String> = pricing::unpriced(s, priced_by, until)
            .iter()
            .map(|g| {
                format!(
                    "line {}: {} {}-{} {} has no fare for departures on {} to {}",
                    g.line, g.flight, g.origin, g.destination, g.cabin, g.first, g.last
                )
            })
            .collect();
        if !gaps.is_empty() {
            if file_fares.is_none() {
                gaps.push(
                    "the stored fares do not price this schedule: import it with its fares (--fares FILE)"
                        .to_owned(),
                );
            }
            return Err(ImportError::Schedule(gaps));
        }
    }
    import.airports = used
        .iter()
        .filter_map(|c| by_code.get(c.as_str()).map(|a| (*a).clone()))
        .collect();
    Ok(import)
}

/// Records of one flight at one board point operating on the same flight date (they
/// would share one dated leg's seats).
fn shared_dated_legs(legs: &[ScheduledLeg]) -> Vec<String> {
    let mut by_key: BTreeMap<(&str, u16, &str), Vec<&ScheduledLeg>> = BTreeMap::new();
    for l in legs {
        by_key
            .entry((l.carrier.as_str(), l.flight_number, l.origin.as_str()))
            .or_default()
            .push(l);
    }
    let mut errors = Vec::new();
    for group in by_key.values().filter(|g| g.len() > 1) {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                let from = a.period_from.max(b.period_from);
                let to = a.period_to.min(b.period_to);
                let clash: Option<NaiveDate> = from
                    .iter_days()
                    .take_while(|d| *d <= to)
                    .take(14)
                    .find(|d| a.operates(*d) && b.operates(*d));
                if let Some(d) = clash {
                    errors.push(format!(
                        "line {}: {}{} from {} also operates on {d} in line {} (one flight leaves a station once a day)",
                        b.source_line, b.carrier, b.flight_number, b.origin, a.source_line
                    ));
                }
            }
        }
    }
    errors
}

/// Reads, checks and writes the files in one transaction, logged in the import log
/// (`running`, then `done` or `failed`); nothing is written when anything is refused.
pub async fn import(
    store: &SearchStore,
    files: &Files,
    read_progress: &mut (dyn FnMut(usize, usize) + Send),
    write_progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<ImportReport, ImportError> {
    let import_id = store.begin_import(&files.source).await?;
    import_logged(store, import_id, files, read_progress, write_progress).await
}

/// [`import`] under a log entry already begun (the job endpoint answers its id first).
pub async fn import_logged(
    store: &SearchStore,
    import_id: i64,
    files: &Files,
    read_progress: &mut (dyn FnMut(usize, usize) + Send),
    write_progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<ImportReport, ImportError> {
    let started = std::time::Instant::now();
    // A schedule alone is priced by the fares already stored.
    let stored_fares = match (&files.ssim, &files.fares) {
        (Some(_), None) => store.fares().await.map(|stored| {
            stored
                .iter()
                .filter_map(PublishedFare::to_file)
                .collect::<Vec<_>>()
        }),
        _ => Ok(Vec::new()),
    };
    let result = match stored_fares
        .map_err(ImportError::from)
        .and_then(|stored| prepare(files, &stored, read_progress))
    {
        Ok(prepared) => {
            let checked = started.elapsed().as_secs_f64();
            tracing::info!(
                import_id,
                records = prepared.legs.len(),
                seconds = checked,
                "files read and checked"
            );
            store
                .import_schedule(&prepared, import_id, write_progress)
                .await
                .map_err(ImportError::from)
        }
        Err(e) => Err(e),
    };
    match &result {
        Ok(report) => {
            metrics::counter!("catalog_imports_total", "status" => "done").increment(1);
            tracing::info!(
                import_id,
                source = %files.source,
                carriers = report.carriers.len(),
                seconds = started.elapsed().as_secs_f64(),
                legs = report.legs,
                replaced = report.replaced_legs,
                affected = report.affected.len(),
                "schedule imported"
            );
            for a in &report.affected {
                tracing::warn!(
                    import_id,
                    flight = %a.flight,
                    date = %a.flight_date,
                    origin = %a.origin,
                    change = ?a.change,
                    bookings = a.bookings.len(),
                    "a schedule change affects sold seats"
                );
            }
        }
        Err(e) => {
            metrics::counter!("catalog_imports_total", "status" => "failed").increment(1);
            match e {
                ImportError::Store(_) => {
                    tracing::error!(import_id, source = %files.source, error = %e, "import failed: nothing was imported")
                }
                _ => {
                    tracing::warn!(import_id, source = %files.source, error = %e, "import refused: nothing was imported")
                }
            }
            if let Err(log) = store.fail_import(import_id, &e.lines()).await {
                tracing::warn!(import_id, error = %log, "the import log could not record the failure");
            }
        }
    }
    result
}
