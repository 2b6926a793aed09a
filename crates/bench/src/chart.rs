//! The fleet scenario's pictures, as standalone SVG documents: requests per
//! second against the number of tenants, one line per scenario; and the
//! share of its rate each scenario keeps at the largest fleet, the server's
//! beside PostgreSQL's alone (pgbench).

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

use crate::fleet::{Measured, SCENARIOS};

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 210.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 48.0;
const COLOURS: [&str; 6] = ["#4878d0", "#ee854a", "#6acc64", "#d65f5f", "#956cb4", "#8c613c"];
const DASHES: [&str; 3] = ["", r#" stroke-dasharray="6 4""#, r#" stroke-dasharray="2 3""#];
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;
/// The y of the x axis.
const BASE: f64 = TOP + PLOT_H;

/// Where `value` sits on a y axis from zero to `top`.
fn y_at(value: f64, top: f64) -> f64 {
    BASE - value / top * PLOT_H
}

/// The start of a chart: document, white background, `title` (the
/// document's name) and `heading` (printed above the plot), both axes, and
/// `ticks` + 1 gridlines from zero to `top` labelled with their value and
/// `unit`. The caller adds the marks and closes the `svg` element.
fn frame(title: &str, heading: &str, top: f64, ticks: u32, unit: &str) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">
<title>{title}</title>
<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>
<text x="{LEFT}" y="22" font-size="14" font-weight="bold">{heading}</text>
<line x1="{LEFT}" y1="{BASE}" x2="{right}" y2="{BASE}" stroke="#444"/>
<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BASE}" stroke="#444"/>"##,
        right = LEFT + PLOT_W,
    );
    for step in 0..=ticks {
        let value = top * f64::from(step) / f64::from(ticks);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{right}" y2="{py:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{value:.0}{unit}</text>"##,
            py = y_at(value, top),
            right = LEFT + PLOT_W,
            tx = LEFT - 6.0,
            ty = y_at(value, top) + 4.0,
        );
    }
    svg
}

/// Sizes on the x axis at equal spacing (they grow by orders of magnitude),
/// requests per second on a linear y axis from zero.
pub fn throughput_by_fleet_size(results: &[Measured]) -> String {
    // the health check answers an order of magnitude faster than anything
    // that reads PostgreSQL and would flatten every other line: left out
    let results: Vec<&Measured> = results.iter().filter(|m| m.scenario != SCENARIOS[0].0).collect();
    let mut sizes: Vec<usize> = results.iter().map(|m| m.size).collect();
    sizes.dedup();
    let top = nice_ceiling(results.iter().map(|m| m.rate).fold(0.0, f64::max));
    let x = |size: usize| {
        let i = sizes.iter().position(|&s| s == size).unwrap_or(0);
        if sizes.len() < 2 { LEFT + PLOT_W / 2.0 } else { LEFT + PLOT_W * i as f64 / (sizes.len() - 1) as f64 }
    };
    let y = |rate: f64| y_at(rate, top);
    let mut svg = frame(
        "Throughput against the number of tenants",
        "Requests per second against the number of tenants (wrk, 2 cores; health left out)",
        top,
        4,
        "",
    );
    let _ = writeln!(
        svg,
        r##"<text x="{label_x}" y="{mid_y}" transform="rotate(-90 {label_x} {mid_y})" text-anchor="middle">requests/s</text>
<text x="{mid_x}" y="{axis_y}" text-anchor="middle">tenants</text>"##,
        label_x = 16.0,
        mid_y = TOP + PLOT_H / 2.0,
        mid_x = LEFT + PLOT_W / 2.0,
        axis_y = HEIGHT - 10.0,
    );
    for &size in &sizes {
        let _ = writeln!(
            svg,
            r##"<text x="{px:.1}" y="{ty}" text-anchor="middle">{size}</text>"##,
            px = x(size),
            ty = BASE + 16.0,
        );
    }
    // one colour per scenario; with several tenant-shard counts, one dash
    // pattern per count
    let mut configs: Vec<u32> = results.iter().map(|m| m.shards).collect();
    configs.sort_unstable();
    configs.dedup();
    let several = configs.len() > 1;
    let label = |shards: u32| if several { format!(", {shards} tenant shards") } else { String::new() };
    for (i, (name, _, _)) in SCENARIOS.iter().enumerate().skip(1) {
        let colour = COLOURS[i % COLOURS.len()];
        let mut drawn = false;
        for (k, &shards) in configs.iter().enumerate() {
            let points: Vec<(f64, f64, f64)> = results
                .iter()
                .filter(|m| m.scenario == *name && m.shards == shards)
                .map(|m| (x(m.size), y(m.rate), m.rate))
                .collect();
            if points.is_empty() {
                continue;
            }
            drawn = true;
            let path: Vec<String> = points.iter().map(|(px, py, _)| format!("{px:.1},{py:.1}")).collect();
            let _ = writeln!(
                svg,
                r##"<g class="scenario" data-name="{name}" data-shards="{shards}"><polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"##,
                path.join(" "),
                dash = DASHES[k % DASHES.len()],
            );
            for (px, py, rate) in &points {
                let _ = writeln!(
                    svg,
                    r##"<circle cx="{px:.1}" cy="{py:.1}" r="3.5" fill="{colour}"><title>{name}{}: {rate:.0} req/s</title></circle>"##,
                    label(shards)
                );
            }
            svg.push_str("</g>\n");
        }
        if !drawn {
            continue;
        }
        let legend_y = TOP + 18.0 * (i - 1) as f64;
        let _ = writeln!(
            svg,
            r##"<rect x="{lx}" y="{ly:.1}" width="12" height="3" fill="{colour}"/><text x="{tx}" y="{ty:.1}">{name}</text>"##,
            lx = LEFT + PLOT_W + 16.0,
            ly = legend_y,
            tx = LEFT + PLOT_W + 34.0,
            ty = legend_y + 5.0,
        );
    }
    if several {
        for (k, &shards) in configs.iter().enumerate() {
            let legend_y = TOP + 18.0 * (SCENARIOS.len() + k) as f64;
            let _ = writeln!(
                svg,
                r##"<line x1="{lx}" y1="{ly:.1}" x2="{lx2}" y2="{ly:.1}" stroke="#444" stroke-width="2"{dash}/><text x="{tx}" y="{ty:.1}">{shards} tenant shards</text>"##,
                lx = LEFT + PLOT_W + 10.0,
                lx2 = LEFT + PLOT_W + 30.0,
                ly = legend_y,
                dash = DASHES[k % DASHES.len()],
                tx = LEFT + PLOT_W + 34.0,
                ty = legend_y + 4.0,
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// Writes [`throughput_by_fleet_size`] to `path` and, when the results hold
/// two fleet sizes, [`share_kept_at_largest`] next to it (`x.svg` →
/// `x-kept.svg`), whose path it returns.
pub fn write_charts(path: &Path, results: &[Measured]) -> std::io::Result<Option<PathBuf>> {
    std::fs::write(path, throughput_by_fleet_size(results))?;
    let Some(kept) = share_kept_at_largest(results) else { return Ok(None) };
    let stem = path.file_stem().map_or_else(|| "fleet".into(), |s| s.to_string_lossy().into_owned());
    let beside = path.with_file_name(format!("{stem}-kept.svg"));
    std::fs::write(&beside, kept)?;
    Ok(Some(beside))
}

/// The rate each scenario keeps at the largest fleet size as a share of the
/// smallest, two bars per scenario: the server's (wrk) and the database's
/// alone (pgbench replaying the same statements), with the 90% target
/// drawn across. Measurements of the first tenant-shard count only; `None`
/// with fewer than two sizes.
pub fn share_kept_at_largest(results: &[Measured]) -> Option<String> {
    let shards = results.iter().map(|m| m.shards).min()?;
    let ours: Vec<&Measured> = results.iter().filter(|m| m.shards == shards).collect();
    let small = ours.iter().map(|m| m.size).min()?;
    let large = ours.iter().map(|m| m.size).max()?;
    if small == large {
        return None;
    }
    let at = |name: &str, size: usize| ours.iter().find(|m| m.scenario == name && m.size == size).copied();
    // (scenario, the server's share, the database's share), in per cent
    // health (the first scenario) touches no tenant: left out
    let bars: Vec<(&str, f64, Option<f64>)> = SCENARIOS
        .iter()
        .skip(1)
        .filter_map(|(name, _, _)| {
            let (from, to) = (at(name, small)?, at(name, large)?);
            let database = from.pgbench_tps.zip(to.pgbench_tps).map(|(a, b)| 100.0 * b / a);
            Some((*name, 100.0 * to.rate / from.rate, database))
        })
        .collect();
    let highest = bars.iter().flat_map(|(_, s, d)| [Some(*s), *d]).flatten().fold(100.0, f64::max);
    let top = (highest / 20.0).ceil() * 20.0;
    let y = |share: f64| y_at(share, top);
    let slot = PLOT_W / bars.len().max(1) as f64;
    let bar_w = slot * 0.3;
    let mut svg = frame(
        &format!("Throughput kept at {large} tenants as a share of {small}"),
        &format!("Throughput at {large} tenants as a share of {small}: the server and PostgreSQL alone"),
        top,
        (top / 20.0) as u32,
        "%",
    );
    for (i, (name, server, database)) in bars.iter().enumerate() {
        let left = LEFT + slot * i as f64 + slot * 0.2;
        for (k, (share, colour, who)) in
            [(Some(*server), COLOURS[0], "the server"), (*database, "#999999", "PostgreSQL alone")]
                .into_iter()
                .enumerate()
        {
            let Some(share) = share else { continue };
            let _ = writeln!(
                svg,
                r##"<rect class="bar" x="{bx:.1}" y="{by:.1}" width="{bar_w:.1}" height="{bh:.1}" fill="{colour}"><title>{name}, {who}: {share:.0}%</title></rect><text x="{tx:.1}" y="{ty:.1}" text-anchor="middle">{share:.0}%</text>"##,
                bx = left + bar_w * k as f64,
                by = y(share),
                bh = BASE - y(share),
                tx = left + bar_w * (k as f64 + 0.5),
                ty = y(share) - 4.0,
            );
        }
        let tx = left + bar_w;
        let lines: String = wrapped(name, 14)
            .iter()
            .enumerate()
            .map(|(n, line)| format!(r#"<tspan x="{tx:.1}" dy="{}">{line}</tspan>"#, if n == 0 { 0 } else { 13 }))
            .collect();
        let _ = writeln!(svg, r##"<text x="{tx:.1}" y="{ty}" text-anchor="middle">{lines}</text>"##, ty = BASE + 16.0);
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{py:.1}" x2="{right}" y2="{py:.1}" stroke="{red}" stroke-width="1.5" stroke-dasharray="6 4"/>
<rect x="{lx}" y="{l1:.1}" width="12" height="10" fill="{blue}"/><text x="{tx}" y="{t1:.1}">the server (wrk)</text>
<rect x="{lx}" y="{l2:.1}" width="12" height="10" fill="#999999"/><text x="{tx}" y="{t2:.1}">PostgreSQL alone (pgbench)</text>
<line x1="{lx}" y1="{l3:.1}" x2="{lx2}" y2="{l3:.1}" stroke="{red}" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{tx}" y="{t3:.1}">target: 90%</text>"##,
        py = y(90.0),
        right = LEFT + PLOT_W,
        red = COLOURS[3],
        blue = COLOURS[0],
        lx = LEFT + PLOT_W + 16.0,
        lx2 = LEFT + PLOT_W + 28.0,
        tx = LEFT + PLOT_W + 34.0,
        l1 = TOP,
        t1 = TOP + 9.0,
        l2 = TOP + 18.0,
        t2 = TOP + 27.0,
        l3 = TOP + 41.0,
        t3 = TOP + 45.0,
    );
    svg.push_str("</svg>\n");
    Some(svg)
}

/// `text` in lines of about `width` characters, broken between words.
fn wrapped(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `value` (at least 1).
fn nice_ceiling(value: f64) -> f64 {
    if value <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|&v| v >= value).unwrap_or(10.0 * magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(size: usize, scenario: &'static str, rate: f64) -> Measured {
        Measured {
            size,
            shards: 16,
            scenario,
            rate,
            p50_ms: 1.0,
            p99_ms: 2.0,
            p999_ms: 3.0,
            round_trips: 3.0,
            pgbench_tps: None,
            server_cpu_us: 100.0,
            postgres_cpu_us: 200.0,
        }
    }

    #[test]
    fn every_measurement_is_a_point_with_its_rate() {
        let results = [
            measured(10, SCENARIOS[1].0, 3000.0),
            measured(1000, SCENARIOS[1].0, 2900.0),
            measured(10, SCENARIOS[2].0, 1500.0),
            measured(1000, SCENARIOS[2].0, 1400.0),
            measured(10, SCENARIOS[0].0, 40000.0),
        ];
        let svg = throughput_by_fleet_size(&results);
        // health is left out: four points, two lines
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(!svg.contains("40000 req/s"));
        assert!(svg.contains(&format!("{}: 2900 req/s", SCENARIOS[1].0)));
        assert!(svg.contains(">1000</text>"));
        // the axis tops out at the next round value above the highest rate
        assert!(svg.contains(">5000</text>"));
        // one shard count: no dash patterns and no line-style legend
        assert!(!svg.contains("stroke-dasharray") && !svg.contains("tenant shards</text>"));
    }

    #[test]
    fn each_shard_count_gets_a_line_of_its_own() {
        let mut four = measured(10, SCENARIOS[1].0, 2000.0);
        four.shards = 4;
        let mut four_large = measured(1000, SCENARIOS[1].0, 1000.0);
        four_large.shards = 4;
        let results = [four, four_large, measured(10, SCENARIOS[1].0, 3000.0), measured(1000, SCENARIOS[1].0, 2800.0)];
        let svg = throughput_by_fleet_size(&results);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(&format!("{}, 4 tenant shards: 1000 req/s", SCENARIOS[1].0)));
        assert!(svg.contains(&format!("{}, 16 tenant shards: 2800 req/s", SCENARIOS[1].0)));
        // the second count is dashed, and the legend says which is which
        assert_eq!(svg.matches("stroke-dasharray").count(), 2);
        assert!(svg.contains(">4 tenant shards</text>") && svg.contains(">16 tenant shards</text>"));
    }

    #[test]
    fn labels_break_between_words() {
        assert_eq!(wrapped("task update with If-Match", 14), ["task update", "with If-Match"]);
        assert_eq!(wrapped("mixed 80/20", 14), ["mixed 80/20"]);
    }

    #[test]
    fn axis_ceilings_are_round() {
        assert_eq!(nice_ceiling(0.5), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(2900.0), 5000.0);
        assert_eq!(nice_ceiling(5000.0), 5000.0);
        assert_eq!(nice_ceiling(9000.0), 10000.0);
    }

    #[test]
    fn the_share_kept_is_drawn_for_the_server_and_the_database_alone() {
        let mut small = measured(10, SCENARIOS[1].0, 4000.0);
        small.pgbench_tps = Some(10000.0);
        let mut large = measured(10000, SCENARIOS[1].0, 3000.0);
        large.pgbench_tps = Some(5000.0);
        // a scenario without pgbench gets the server's bar only
        let results = [small, large, measured(10, SCENARIOS[5].0, 2000.0), measured(10000, SCENARIOS[5].0, 1900.0)];
        let svg = share_kept_at_largest(&results).unwrap_or_default();
        assert_eq!(svg.matches(r#"class="bar""#).count(), 3);
        assert!(svg.contains(&format!("{}, the server: 75%", SCENARIOS[1].0)));
        assert!(svg.contains(&format!("{}, PostgreSQL alone: 50%", SCENARIOS[1].0)));
        assert!(svg.contains(&format!("{}, the server: 95%", SCENARIOS[5].0)));
        assert!(svg.contains("target: 90%") && svg.contains("at 10000 tenants as a share of 10"));
        // one size: nothing to compare
        assert!(share_kept_at_largest(&results[..1]).is_none());
    }
}
