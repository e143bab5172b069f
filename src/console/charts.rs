//! Small charts drawn on the server as SVG (no script, no external monitoring): presentation
//! attributes and CSS classes only, since the console's CSP forbids inline styles.

use maud::{Markup, html};

/// One column of a stacked chart: jobs done and failed in one minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Column {
    pub done: u64,
    pub failed: u64,
}

const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 90.0;
const BASE: f64 = 78.0;

/// Done (bottom) and failed (top) per column, oldest on the left, scaled to the busiest column;
/// `label` names the chart for screen readers.
pub fn stacked_columns(label: &str, columns: &[Column]) -> Markup {
    let peak = columns.iter().map(|c| c.done + c.failed).max().unwrap_or(0).max(1);
    let n = columns.len().max(1) as f64;
    let step = WIDTH / n;
    let bar = (step * 0.8).max(1.0);
    let scale = |v: u64| v as f64 / peak as f64 * (BASE - 6.0);
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(label) {
            title { (label) }
            line.axis x1="0" y1=(BASE) x2=(WIDTH) y2=(BASE) stroke-width="1" {}
            @for (i, column) in columns.iter().enumerate() {
                @let x = i as f64 * step;
                @let done = scale(column.done);
                @let failed = scale(column.failed);
                @if column.done > 0 {
                    rect.done x=(fmt(x)) y=(fmt(BASE - done)) width=(fmt(bar)) height=(fmt(done)) {}
                }
                @if column.failed > 0 {
                    rect.failed x=(fmt(x)) y=(fmt(BASE - done - failed)) width=(fmt(bar)) height=(fmt(failed)) {}
                }
            }
            text x="0" y=(HEIGHT - 1.0) { (columns.len()) " min ago" }
            text x=(WIDTH) y=(HEIGHT - 1.0) text-anchor="end" { "now" }
            text x=(WIDTH) y="9" text-anchor="end" { "peak " (peak) "/min" }
        }
    }
}

/// Horizontal bars of named counts, largest first as given.
pub fn bars(label: &str, items: &[(String, u64)]) -> Markup {
    let peak = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let row = 18.0;
    let height = (items.len().max(1) as f64) * row + 4.0;
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {}", fmt(height))) role="img" aria-label=(label) {
            title { (label) }
            @for (i, (name, value)) in items.iter().enumerate() {
                @let y = i as f64 * row + 2.0;
                @let w = *value as f64 / peak as f64 * (WIDTH - 170.0);
                text x="0" y=(fmt(y + 12.0)) { (truncate(name, 26)) }
                rect.done x="150" y=(fmt(y)) width=(fmt(w.max(1.0))) height=(fmt(row - 5.0)) {}
                text x=(fmt(154.0 + w)) y=(fmt(y + 12.0)) { (value) }
            }
        }
    }
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

fn truncate(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_owned()
    } else {
        format!("{}…", name.chars().take(max - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_scale_to_the_busiest_minute_and_skip_empty_ones() {
        let svg =
            stacked_columns("jobs", &[Column { done: 2, failed: 0 }, Column::default(), Column { done: 1, failed: 1 }])
                .into_string();
        assert_eq!(svg.matches("class=\"done\"").count(), 2);
        assert_eq!(svg.matches("class=\"failed\"").count(), 1);
        assert!(svg.contains("peak 2/min"));
        assert!(!svg.contains("style="));
    }

    #[test]
    fn names_in_bars_are_escaped() {
        let svg = bars("top", &[("<script>x</script>".into(), 3)]).into_string();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }
}
