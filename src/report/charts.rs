//! Inline SVG charts: built from numbers only (labels are our own words), so the
//! templates can embed them unescaped.

use std::fmt::Write;

const SEVERITY_COLOURS: [(&str, &str); 4] = [
    ("critical", "#8b1a1a"),
    ("high", "#d9480f"),
    ("medium", "#e8a317"),
    ("low", "#4c7a9f"),
];

/// Horizontal bars, one per severity.
pub fn severity_bars(counts: &[(String, u64)]) -> String {
    let max = counts.iter().map(|c| c.1).max().unwrap_or(0).max(1);
    let (w, row) = (520.0, 26.0);
    let h = row * SEVERITY_COLOURS.len() as f64 + 8.0;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="Findings by severity">"##
    );
    for (i, (sev, colour)) in SEVERITY_COLOURS.iter().enumerate() {
        let n = counts.iter().find(|c| c.0 == *sev).map_or(0, |c| c.1);
        let y = 4.0 + row * i as f64;
        let bw = 360.0 * n as f64 / max as f64;
        let _ = write!(
            s,
            r##"<text x="0" y="{ty}" font-size="13" fill="#333">{sev}</text><rect x="80" y="{y}" width="{bw:.1}" height="18" fill="{colour}"/><text x="{tx:.1}" y="{ty}" font-size="13" fill="#333">{n}</text>"##,
            ty = y + 14.0,
            tx = 86.0 + bw,
        );
    }
    s.push_str("</svg>");
    s
}

/// A line of finding counts per run (oldest first), with the first and last dates.
pub fn trend(points: &[(String, u64)]) -> String {
    let (w, h, pad) = (520.0, 140.0, 24.0);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let n = points.len().max(2) as f64 - 1.0;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="Finding count over recent runs">"##
    );
    let _ = write!(
        s,
        r##"<line x1="{pad}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/>"##,
        b = h - pad,
        r = w - pad
    );
    let coords: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = pad + (w - 2.0 * pad) * i as f64 / n;
            let y = h - pad - (h - 2.0 * pad) * p.1 as f64 / max;
            (x, y)
        })
        .collect();
    let line: Vec<String> = coords
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    let _ = write!(
        s,
        r##"<polyline fill="none" stroke="#1f4e79" stroke-width="2" points="{}"/>"##,
        line.join(" ")
    );
    for ((x, y), p) in coords.iter().zip(points) {
        let _ = write!(
            s,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="#1f4e79"><title>{}: {}</title></circle>"##,
            p.0, p.1
        );
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = write!(
            s,
            r##"<text x="{pad}" y="{}" font-size="11" fill="#555">{}</text>"##,
            h - 6.0,
            first.0
        );
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="11" fill="#555" text-anchor="end">{} ({})</text>"##,
            w - pad,
            h - 6.0,
            last.0,
            last.1
        );
    }
    s.push_str("</svg>");
    s
}
