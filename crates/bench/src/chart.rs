//! The fleet scenario's picture: requests per second against the number of
//! tenants, one line per scenario, as a standalone SVG document.

use std::fmt::Write as _;

use crate::fleet::{Measured, SCENARIOS};

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 210.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 48.0;
const COLOURS: [&str; 6] = ["#4878d0", "#ee854a", "#6acc64", "#d65f5f", "#956cb4", "#8c613c"];
const DASHES: [&str; 3] = ["", r#" stroke-dasharray="6 4""#, r#" stroke-dasharray="2 3""#];

/// Sizes on the x axis at equal spacing (they grow by orders of magnitude),
/// requests per second on a linear y axis from zero.
pub fn throughput_by_fleet_size(results: &[Measured]) -> String {
    // the health check answers an order of magnitude faster than anything
    // that reads PostgreSQL and would flatten every other line: left out
    let results: Vec<&Measured> = results.iter().filter(|m| m.scenario != SCENARIOS[0].0).collect();
    let mut sizes: Vec<usize> = results.iter().map(|m| m.size).collect();
    sizes.dedup();
    let top = nice_ceiling(results.iter().map(|m| m.rate).fold(0.0, f64::max));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |size: usize| {
        let i = sizes.iter().position(|&s| s == size).unwrap_or(0);
        if sizes.len() < 2 { LEFT + plot_w / 2.0 } else { LEFT + plot_w * i as f64 / (sizes.len() - 1) as f64 }
    };
    let y = |rate: f64| TOP + plot_h - rate / top * plot_h;
    let base = TOP + plot_h;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">
<title>Throughput against the number of tenants</title>
<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>
<text x="{LEFT}" y="22" font-size="14" font-weight="bold">Requests per second against the number of tenants (wrk, 2 cores; health left out)</text>
<line x1="{LEFT}" y1="{base}" x2="{right}" y2="{base}" stroke="#444"/>
<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#444"/>
<text x="{label_x}" y="{mid_y}" transform="rotate(-90 {label_x} {mid_y})" text-anchor="middle">requests/s</text>
<text x="{mid_x}" y="{axis_y}" text-anchor="middle">tenants</text>"##,
        right = LEFT + plot_w,
        label_x = 16.0,
        mid_y = TOP + plot_h / 2.0,
        mid_x = LEFT + plot_w / 2.0,
        axis_y = HEIGHT - 10.0,
    );
    for step in 0..=4 {
        let value = top * f64::from(step) / 4.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{right}" y2="{py:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{value:.0}</text>"##,
            py = y(value),
            right = LEFT + plot_w,
            tx = LEFT - 6.0,
            ty = y(value) + 4.0,
        );
    }
    for &size in &sizes {
        let _ = writeln!(
            svg,
            r##"<text x="{px:.1}" y="{ty}" text-anchor="middle">{size}</text>"##,
            px = x(size),
            ty = base + 16.0,
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
            lx = LEFT + plot_w + 16.0,
            ly = legend_y,
            tx = LEFT + plot_w + 34.0,
            ty = legend_y + 5.0,
        );
    }
    if several {
        for (k, &shards) in configs.iter().enumerate() {
            let legend_y = TOP + 18.0 * (SCENARIOS.len() + k) as f64;
            let _ = writeln!(
                svg,
                r##"<line x1="{lx}" y1="{ly:.1}" x2="{lx2}" y2="{ly:.1}" stroke="#444" stroke-width="2"{dash}/><text x="{tx}" y="{ty:.1}">{shards} tenant shards</text>"##,
                lx = LEFT + plot_w + 10.0,
                lx2 = LEFT + plot_w + 30.0,
                ly = legend_y,
                dash = DASHES[k % DASHES.len()],
                tx = LEFT + plot_w + 34.0,
                ty = legend_y + 4.0,
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
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
    fn axis_ceilings_are_round() {
        assert_eq!(nice_ceiling(0.5), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(2900.0), 5000.0);
        assert_eq!(nice_ceiling(5000.0), 5000.0);
        assert_eq!(nice_ceiling(9000.0), 10000.0);
    }
}
