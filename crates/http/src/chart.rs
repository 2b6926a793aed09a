//! A small SVG bar chart of weekly throughput: one group per week, with a
//! bar for tasks created and one for tasks completed.

use std::fmt::Write;

use taskforce_domain::WeekThroughput;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 64.0;

fn escape(text: &str) -> String {
    // characters XML 1.0 does not allow at all (most controls, U+FFFE, U+FFFF,
    // lone surrogates cannot occur in a str) are left out: escaping cannot
    // make them well-formed
    let allowed: String = text
        .chars()
        .filter(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
        .collect();
    allowed.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The chart as a standalone SVG document.
pub fn throughput_svg(title: &str, weeks: &[WeekThroughput]) -> String {
    let top_value = weeks.iter().flat_map(|w| [w.created, w.completed]).max().unwrap_or(0).max(1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / weeks.len().max(1) as f64;
    let bar = (slot * 0.36).max(1.0);
    let y = |v: u64| TOP + plot_h - (v as f64 / top_value as f64) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">
<title>{title}</title>
<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>
<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{title}</text>
<g transform="translate({legend_x},14)"><rect width="10" height="10" fill="#4878d0"/><text x="14" y="9">created</text><rect x="74" width="10" height="10" fill="#6acc64"/><text x="88" y="9">completed</text></g>
<line x1="{LEFT}" y1="{base}" x2="{right}" y2="{base}" stroke="#444"/>
<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#444"/>
<text x="{label_x}" y="{top_y}" text-anchor="end">{top_value}</text>
<text x="{label_x}" y="{base}" text-anchor="end">0</text>
"##,
        title = escape(title),
        legend_x = WIDTH - RIGHT - 170.0,
        base = TOP + plot_h,
        right = WIDTH - RIGHT,
        label_x = LEFT - 6.0,
        top_y = TOP + 4.0,
    );
    for (i, week) in weeks.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - 2.0 * bar) / 2.0;
        let date = week.week_start.format("%Y-%m-%d").to_string();
        let _ = writeln!(
            svg,
            r##"<g class="week" data-week="{date}"><rect class="created" x="{x:.1}" y="{cy:.1}" width="{bar:.1}" height="{ch:.1}" fill="#4878d0"><title>{date}: {created} created</title></rect><rect class="completed" x="{x2:.1}" y="{dy:.1}" width="{bar:.1}" height="{dh:.1}" fill="#6acc64"><title>{date}: {completed} completed</title></rect><text x="{tx:.1}" y="{ty:.1}" transform="rotate(-45 {tx:.1} {ty:.1})" text-anchor="end">{date}</text></g>"##,
            created = week.created,
            completed = week.completed,
            cy = y(week.created),
            ch = TOP + plot_h - y(week.created),
            x2 = x + bar,
            dy = y(week.completed),
            dh = TOP + plot_h - y(week.completed),
            tx = x + bar,
            ty = TOP + plot_h + 14.0,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The same data as CSV with a header row.
pub fn throughput_csv(weeks: &[WeekThroughput]) -> String {
    let mut csv = String::from("week_start,created,completed\r\n");
    for week in weeks {
        let _ = write!(csv, "{},{},{}\r\n", week.week_start.format("%Y-%m-%d"), week.created, week.completed);
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn text_is_escaped_and_what_xml_forbids_is_left_out() {
        assert_eq!(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
        assert_eq!(escape("Acme \u{fffe}\u{ffff}\u{1} Corp\tété"), "Acme  Corp\tété");
    }
}
