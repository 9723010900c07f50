//! Inline SVG charts: built from numbers only (labels are our own words), so the
//! templates can embed them unescaped.

use std::fmt::Write;

use crate::severity::Severity;

fn colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#8b1a1a",
        Severity::High => "#d9480f",
        Severity::Medium => "#e8a317",
        Severity::Low => "#4c7a9f",
    }
}

/// Horizontal bars, one per severity.
pub fn severity_bars(counts: &[(String, u64)]) -> String {
    let max = counts.iter().map(|c| c.1).max().unwrap_or(0).max(1);
    let (w, row) = (460.0, 26.0);
    let h = row * Severity::ALL.len() as f64 + 8.0;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="Findings by severity">"##
    );
    for (i, sev) in Severity::most_severe_first().enumerate() {
        let colour = colour(sev);
        let n = counts
            .iter()
            .find(|c| c.0 == sev.as_str())
            .map_or(0, |c| c.1);
        let y = 4.0 + row * i as f64;
        let bw = 320.0 * n as f64 / max as f64;
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

/// Finding counts per run (oldest first) as columns, each labelled with its count; dates
/// under the first and last. Columns rather than a line because a line of one point (the
/// first run) is a lone dot that reads as a broken chart.
pub fn trend(points: &[(String, u64)]) -> String {
    let (w, h, pad, base) = (460.0, 150.0, 24.0, 122.0);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let n = points.len().max(1) as f64;
    let slot = (w - 2.0 * pad) / n;
    let bw = (slot * 0.7).min(36.0);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="Finding count over recent runs">"##
    );
    let _ = write!(
        s,
        r##"<line x1="{pad}" y1="{base}" x2="{r}" y2="{base}" stroke="#999"/>"##,
        r = w - pad
    );
    let label_every = (points.len() / 12).max(1);
    for (i, p) in points.iter().enumerate() {
        let x = pad + slot * i as f64 + (slot - bw) / 2.0;
        let bh = (base - 20.0) * p.1 as f64 / max;
        let y = base - bh;
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" fill="#1f4e79"><title>{}: {}</title></rect>"##,
            p.0, p.1
        );
        if i % label_every == 0 || i + 1 == points.len() {
            let _ = write!(
                s,
                r##"<text x="{cx:.1}" y="{ty:.1}" font-size="11" fill="#333" text-anchor="middle">{}</text>"##,
                p.1,
                cx = x + bw / 2.0,
                ty = y - 4.0
            );
        }
    }
    match (points.first(), points.last()) {
        (Some(first), Some(last)) if points.len() > 1 => {
            let _ = write!(
                s,
                r##"<text x="{pad}" y="{}" font-size="11" fill="#555">{}</text><text x="{}" y="{}" font-size="11" fill="#555" text-anchor="end">{}</text>"##,
                h - 8.0,
                first.0,
                w - pad,
                h - 8.0,
                last.0
            );
        }
        (Some(only), _) => {
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" font-size="11" fill="#555" text-anchor="middle">{} (first run: the trend starts here)</text>"##,
                w / 2.0,
                h - 8.0,
                only.0
            );
        }
        _ => {
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" font-size="12" fill="#555" text-anchor="middle">no runs recorded</text>"##,
                w / 2.0,
                h / 2.0
            );
        }
    }
    s.push_str("</svg>");
    s
}
