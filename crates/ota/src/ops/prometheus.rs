//! The Prometheus text exposition format, read back: just enough to judge a service from
//! its own `/actuator/prometheus` without a Prometheus server (samples with their labels,
//! histograms summed by bucket and their quantiles, as PromQL computes them).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// One sample line: `name{label="value",…} value [timestamp]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

/// A line the parser could not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based, as an editor counts.
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// Every sample of a scrape. Comments (`# HELP`, `# TYPE`) and blank lines are skipped;
/// any other line that is not a well-formed sample fails the whole scrape, because a
/// garbled scrape judged as "no errors" would be worse than one reported unreadable.
pub fn parse(text: &str) -> Result<Vec<Sample>, ParseError> {
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let sample = parse_sample(line).map_err(|reason| ParseError {
            line: index + 1,
            reason,
        })?;
        samples.push(sample);
    }
    Ok(samples)
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let (name, mut rest) = line.split_at(name_end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("a sample starts with a metric name".to_owned());
    }
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = parse_labels(after_brace, &mut labels)?;
    }
    let mut fields = rest.split_whitespace();
    if !rest.starts_with(char::is_whitespace) {
        return Err(format!("`{name}` is not followed by a space and its value"));
    }
    let value = fields
        .next()
        .ok_or_else(|| format!("`{name}` has no value"))
        .and_then(parse_value)?;
    if let Some(timestamp) = fields.next()
        && timestamp.parse::<i64>().is_err()
    {
        return Err(format!("`{timestamp}` is not a timestamp in milliseconds"));
    }
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected `{extra}` after the value"));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Reads `name="value",…}` (the opening brace already consumed) and returns what follows.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut BTreeMap<String, String>,
) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, after_name) = rest.split_at(name_end);
        if name.is_empty() {
            return Err("a label name was expected".to_owned());
        }
        let after_equals = after_name
            .trim_start()
            .strip_prefix('=')
            .ok_or_else(|| format!("label `{name}` has no `=`"))?;
        let quoted = after_equals
            .trim_start()
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of label `{name}` is not quoted"))?;
        let (value, after_value) =
            unquote(quoted).ok_or_else(|| format!("the value of label `{name}` is not closed"))?;
        labels.insert(name.to_owned(), value);
        rest = after_value.trim_start();
        if let Some(after_comma) = rest.strip_prefix(',') {
            rest = after_comma;
        } else if !rest.starts_with('}') {
            return Err(format!("`,` or `}}` expected after label `{name}`"));
        }
    }
}

/// The label value up to the closing quote, with `\\`, `\"` and `\n` unescaped, and
/// the text after the quote.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("`{s}` is not a number")),
    }
}

/// How much each counter (or histogram bucket) grew since an earlier scrape of the same
/// process, series by series. A series absent earlier had not been observed yet, so it
/// grew from zero.
pub fn increase(later: &[Sample], earlier: &[Sample]) -> Vec<Sample> {
    let before: HashMap<(&str, &BTreeMap<String, String>), f64> = earlier
        .iter()
        .map(|s| ((s.name.as_str(), &s.labels), s.value))
        .collect();
    later
        .iter()
        .map(|s| {
            let start = before
                .get(&(s.name.as_str(), &s.labels))
                .copied()
                .unwrap_or(0.0);
            Sample {
                value: (s.value - start).max(0.0),
                ..s.clone()
            }
        })
        .collect()
}

/// A cumulative histogram as Prometheus exposes it: for each upper bound `le`, how many
/// observations were at or below it; sorted by bound, the last one `+Inf`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    buckets: Vec<(f64, f64)>,
}

/// Where a quantile lies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Quantile {
    /// Interpolated within a bucket.
    Within(f64),
    /// Beyond the highest finite bucket: PromQL answers that bound, the truth is higher.
    AboveHighestBucket(f64),
}

impl Quantile {
    pub fn seconds(self) -> f64 {
        match self {
            Quantile::Within(s) | Quantile::AboveHighestBucket(s) => s,
        }
    }
}

impl Histogram {
    /// Sums `_bucket` samples by their `le` label, as `sum by (le)` does in PromQL. Samples
    /// without a readable `le` are not buckets and are left out.
    pub fn sum_by_le<'a>(buckets: impl IntoIterator<Item = &'a Sample>) -> Histogram {
        let mut histogram = Histogram::default();
        for sample in buckets {
            let Some(le) = sample.label("le").and_then(|le| parse_value(le).ok()) else {
                continue;
            };
            histogram.add(le, sample.value);
        }
        histogram
    }

    fn add(&mut self, le: f64, count: f64) {
        match self.buckets.iter_mut().find(|(bound, _)| *bound == le) {
            Some((_, total)) => *total += count,
            None => {
                self.buckets.push((le, count));
                self.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
    }

    /// Observations in total (the `+Inf` bucket).
    pub fn count(&self) -> f64 {
        match self.buckets.last() {
            Some(&(le, count)) if le == f64::INFINITY => count,
            _ => 0.0,
        }
    }

    /// The `q` quantile (0 ≤ q ≤ 1) by linear interpolation within the bucket it falls
    /// in, exactly as PromQL's `histogram_quantile`; `None` without observations or
    /// without the `+Inf` bucket.
    pub fn quantile(&self, q: f64) -> Option<Quantile> {
        let total = self.count();
        if total <= 0.0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = q * total;
        let index = self.buckets.iter().position(|&(_, count)| count >= rank)?;
        let (upper, count) = self.buckets[index];
        let (lower, below) = match index.checked_sub(1) {
            Some(i) => self.buckets[i],
            // The first bucket starts at zero, unless its bound is not positive.
            None if upper <= 0.0 => return Some(Quantile::Within(upper)),
            None => (0.0, 0.0),
        };
        if upper == f64::INFINITY {
            return Some(Quantile::AboveHighestBucket(lower));
        }
        if count <= below {
            return Some(Quantile::Within(upper));
        }
        Some(Quantile::Within(
            lower + (upper - lower) * (rank - below) / (count - below),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str) -> Sample {
        let mut samples = parse(text).expect("parses");
        assert_eq!(samples.len(), 1, "{text}");
        samples.remove(0)
    }

    #[test]
    fn samples_are_read_with_their_labels_and_values() {
        let text = "# HELP db_pool_connections Database connections open\n\
                    # TYPE db_pool_connections gauge\n\
                    db_pool_connections{service=\"auth-service\",state=\"in_use\"} 3\n\
                    \n\
                    process_cpu_seconds_total 12.5\n";
        let samples = parse(text).expect("parses");
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].name, "db_pool_connections");
        assert_eq!(samples[0].label("service"), Some("auth-service"));
        assert_eq!(samples[0].label("state"), Some("in_use"));
        assert_eq!(samples[0].value, 3.0);
        assert!(samples[1].labels.is_empty());
        assert_eq!(samples[1].value, 12.5);
    }

    #[test]
    fn special_values_escapes_timestamps_and_spacing_are_understood() {
        let s = sample(r#"x_bucket{le="+Inf"} +Inf"#);
        assert_eq!(s.value, f64::INFINITY);
        assert_eq!(s.label("le"), Some("+Inf"));
        assert_eq!(sample("x -Inf").value, f64::NEG_INFINITY);
        assert!(sample("x NaN").value.is_nan());
        assert_eq!(sample("x 1.5e-3 1700000000000").value, 0.0015);
        let s = sample(r#"x{route="/a\"b\\c\nd" , status = "200",} 7"#);
        assert_eq!(s.label("route"), Some("/a\"b\\c\nd"));
        assert_eq!(s.label("status"), Some("200"));
        let s = sample(r#"x{route="/api/v1/payments/{id}",a="x y"}	2"#);
        assert_eq!(s.label("route"), Some("/api/v1/payments/{id}"));
        assert_eq!(s.label("a"), Some("x y"));
        assert_eq!(s.value, 2.0);
        assert!(sample("x{} 1").labels.is_empty());
    }

    #[test]
    fn malformed_lines_fail_the_scrape_naming_the_line() {
        for bad in [
            "x",
            "x{a=\"1\"}",
            "x{a=\"1\"}1",
            "x{a=1} 1",
            "x{a=\"1} 1",
            "x{a=\"1\" b=\"2\"} 1",
            "x{=\"1\"} 1",
            "x one",
            "x 1 soon",
            "x 1 2 3",
            "{a=\"1\"} 1",
            "1x 1",
        ] {
            let error = parse(&format!("ok 1\n{bad}\n")).expect_err(bad);
            assert_eq!(error.line, 2, "{bad}");
        }
    }

    fn histogram(buckets: &[(f64, f64)]) -> Histogram {
        let mut h = Histogram::default();
        for &(le, count) in buckets {
            h.add(le, count);
        }
        h
    }

    #[test]
    fn buckets_are_summed_across_series_by_le() {
        let text = r#"
h_bucket{route="/a",le="0.1"} 1
h_bucket{route="/a",le="1"} 2
h_bucket{route="/a",le="+Inf"} 2
h_bucket{route="/b",le="+Inf"} 5
h_bucket{route="/b",le="1"} 4
h_bucket{route="/b",le="0.1"} 3
h_count{route="/b"} 5
"#;
        let samples = parse(text).expect("parses");
        let h = Histogram::sum_by_le(samples.iter().filter(|s| s.name == "h_bucket"));
        assert_eq!(
            h,
            histogram(&[(0.1, 4.0), (1.0, 6.0), (f64::INFINITY, 7.0)])
        );
        assert_eq!(h.count(), 7.0);
    }

    #[test]
    fn the_quantile_interpolates_within_its_bucket_like_histogram_quantile() {
        // 100 observations: 50 ≤ 0.1 s, 40 in (0.1, 0.5], 10 in (0.5, 1].
        let h = histogram(&[
            (0.1, 50.0),
            (0.5, 90.0),
            (1.0, 100.0),
            (f64::INFINITY, 100.0),
        ]);
        // rank 50 is the top of the first bucket.
        assert_eq!(h.quantile(0.5), Some(Quantile::Within(0.1)));
        // rank 70: halfway through (0.1, 0.5].
        let p70 = h.quantile(0.7).expect("observations").seconds();
        assert!((p70 - 0.3).abs() < 1e-9, "{p70}");
        // rank 99: 9 of the 10 in (0.5, 1].
        let p99 = h.quantile(0.99).expect("observations").seconds();
        assert!((p99 - 0.95).abs() < 1e-9, "{p99}");
        // Within the first bucket the lower bound is zero.
        let p10 = h.quantile(0.1).expect("observations").seconds();
        assert!((p10 - 0.02).abs() < 1e-9, "{p10}");
    }

    #[test]
    fn a_quantile_beyond_the_highest_bucket_is_that_bound_flagged() {
        let h = histogram(&[(1.0, 10.0), (10.0, 90.0), (f64::INFINITY, 100.0)]);
        assert_eq!(h.quantile(0.99), Some(Quantile::AboveHighestBucket(10.0)));
    }

    #[test]
    fn no_observations_or_no_inf_bucket_has_no_quantile() {
        assert_eq!(Histogram::default().quantile(0.99), None);
        assert_eq!(
            histogram(&[(1.0, 0.0), (f64::INFINITY, 0.0)]).quantile(0.99),
            None
        );
        assert_eq!(histogram(&[(1.0, 5.0)]).quantile(0.99), None);
        assert_eq!(
            histogram(&[(1.0, 5.0), (f64::INFINITY, 5.0)]).quantile(1.5),
            None
        );
    }

    #[test]
    fn the_window_is_the_increase_series_by_series() {
        let earlier = parse(
            r#"
h_bucket{route="/a",le="1"} 1000
h_bucket{route="/a",le="2"} 1000
h_bucket{route="/a",le="+Inf"} 1000
"#,
        )
        .expect("parses");
        // Since then: /a answered 10 more requests, all between 1 s and 2 s, and /b (a
        // series first seen now) 5, all fast.
        let later = parse(
            r#"
h_bucket{route="/a",le="1"} 1000
h_bucket{route="/a",le="2"} 1010
h_bucket{route="/a",le="+Inf"} 1010
h_bucket{route="/b",le="1"} 5
h_bucket{route="/b",le="2"} 5
h_bucket{route="/b",le="+Inf"} 5
"#,
        )
        .expect("parses");
        let window = Histogram::sum_by_le(&increase(&later, &earlier));
        assert_eq!(
            window,
            histogram(&[(1.0, 5.0), (2.0, 15.0), (f64::INFINITY, 15.0)])
        );
        let p99 = window.quantile(0.99).expect("observations").seconds();
        assert!(p99 > 1.0 && p99 <= 2.0, "{p99}");
        // Since the start the same moment looks fine: the reason to look at a window.
        let since_start = Histogram::sum_by_le(&later)
            .quantile(0.99)
            .expect("observations")
            .seconds();
        assert!(since_start < 1.0, "{since_start}");
    }
}
