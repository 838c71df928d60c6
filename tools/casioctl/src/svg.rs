//! Hand-written SVG Gantt charts: one row per task, execution slices as
//! bars, releases as up-ticks, deadlines as down-ticks, misses in red,
//! time axis in ms with gridlines, and a legend.

use std::fmt::Write;

/// One execution slice (ns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// Start.
    pub start: i64,
    /// End.
    pub end: i64,
    /// Part of a job that missed its deadline.
    pub miss: bool,
}

/// One task's row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// Label on the left.
    pub label: String,
    /// Execution slices.
    pub bars: Vec<Bar>,
    /// Release times.
    pub releases: Vec<i64>,
    /// Absolute deadlines and whether that job missed.
    pub deadlines: Vec<(i64, bool)>,
}

/// A chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gantt {
    /// Title line.
    pub title: String,
    /// Rows, top to bottom.
    pub rows: Vec<Row>,
    /// Left edge of the time axis (ns).
    pub t_start: i64,
    /// Right edge of the time axis (ns).
    pub t_end: i64,
}

/// Fill of missed slices and ticks.
pub const MISS_COLOR: &str = "#d62728";
/// Per-row bar colours (no reds).
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22",
    "#393b79", "#e377c2",
];

/// Layout constants (pixels).
pub const LABEL_W: f64 = 150.0;
/// Right margin.
pub const RIGHT_W: f64 = 20.0;
/// Space above the first row.
pub const TOP_H: f64 = 40.0;
/// Height of a row.
pub const ROW_H: f64 = 40.0;
/// Height of a bar.
pub const BAR_H: f64 = 18.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" tick step (1, 2 or 5 times a power of ten, in ms) giving at
/// most about `max_ticks` ticks over `span_ms`.
pub fn tick_step_ms(span_ms: f64, max_ticks: usize) -> f64 {
    let raw = (span_ms / max_ticks.max(1) as f64).max(1e-6);
    let p = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= raw {
            return m * p;
        }
    }
    10.0 * p
}

fn fmt_ms(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Render the chart; `width` is the total width in pixels.
pub fn render(g: &Gantt, width: u32) -> String {
    let width = (width as f64).max(LABEL_W + RIGHT_W + 100.0);
    let plot_w = width - LABEL_W - RIGHT_W;
    let t0 = g.t_start;
    let span = (g.t_end - g.t_start).max(1) as f64;
    let x = |t: i64| LABEL_W + ((t - t0) as f64 / span * plot_w).clamp(0.0, plot_w);
    let rows_h = ROW_H * g.rows.len() as f64;
    let axis_y = TOP_H + rows_h;
    let legend_y = axis_y + 42.0;
    let height = legend_y + 30.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif" font-size="12">"#,
        w = width,
        h = height
    );
    let _ = writeln!(
        s,
        r##"<rect class="background" x="0" y="0" width="{width:.0}" height="{height:.0}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text class="title" x="{LABEL_W}" y="22" font-size="14" font-weight="bold">{}</text>"#,
        esc(&g.title)
    );

    // Grid and axis.
    let span_ms = span / 1e6;
    let step = tick_step_ms(span_ms, ((plot_w / 70.0) as usize).max(2));
    s.push_str("<g class=\"grid\">\n");
    let first = ((t0 as f64 / 1e6) / step).ceil() as i64;
    let mut k = first;
    loop {
        let tms = k as f64 * step;
        let tns = (tms * 1e6).round() as i64;
        if tns > g.t_end {
            break;
        }
        let xx = x(tns);
        let _ = writeln!(
            s,
            r##"<line class="gridline" x1="{xx:.2}" y1="{TOP_H}" x2="{xx:.2}" y2="{y2:.2}" stroke="#dddddd" stroke-width="1"/>"##,
            y2 = axis_y + 5.0
        );
        let _ = writeln!(
            s,
            r#"<text class="ticklabel" x="{xx:.2}" y="{y:.2}" text-anchor="middle">{}</text>"#,
            fmt_ms(tms),
            y = axis_y + 18.0
        );
        k += 1;
    }
    let _ = writeln!(
        s,
        r##"<line class="axis" x1="{LABEL_W}" y1="{axis_y:.2}" x2="{x2:.2}" y2="{axis_y:.2}" stroke="#000000" stroke-width="1"/>"##,
        x2 = LABEL_W + plot_w
    );
    let _ = writeln!(
        s,
        r#"<text class="axislabel" x="{xx:.2}" y="{y:.2}" text-anchor="middle">time (ms)</text>"#,
        xx = LABEL_W + plot_w / 2.0,
        y = axis_y + 34.0
    );
    s.push_str("</g>\n");

    // Rows.
    for (i, r) in g.rows.iter().enumerate() {
        let top = TOP_H + ROW_H * i as f64;
        let base = top + ROW_H - 6.0; // baseline of bars and ticks
        let color = PALETTE[i % PALETTE.len()];
        let _ = writeln!(s, r#"<g class="row" data-row="{i}">"#);
        let _ = writeln!(
            s,
            r#"<text class="label" x="{lx:.2}" y="{ly:.2}" text-anchor="end">{}</text>"#,
            esc(&r.label),
            lx = LABEL_W - 8.0,
            ly = base - BAR_H / 2.0 + 4.0
        );
        let _ = writeln!(
            s,
            r##"<line class="baseline" x1="{LABEL_W}" y1="{base:.2}" x2="{x2:.2}" y2="{base:.2}" stroke="#999999" stroke-width="0.5"/>"##,
            x2 = LABEL_W + plot_w
        );
        let mut bars = r.bars.clone();
        bars.sort_by_key(|b| (b.start, b.end));
        for b in &bars {
            let x1 = x(b.start);
            let w = (x(b.end) - x1).max(0.5);
            let (cls, fill) = if b.miss {
                ("slice miss", MISS_COLOR)
            } else {
                ("slice", color)
            };
            let _ = writeln!(
                s,
                r#"<rect class="{cls}" x="{x1:.2}" y="{y:.2}" width="{w:.2}" height="{BAR_H}" fill="{fill}"><title>{} - {} ms</title></rect>"#,
                fmt_ms(b.start as f64 / 1e6),
                fmt_ms(b.end as f64 / 1e6),
                y = base - BAR_H
            );
        }
        let mut rel = r.releases.clone();
        rel.sort();
        for &t in &rel {
            let xx = x(t);
            let (y1, y2) = (base, top + 4.0);
            let _ = writeln!(
                s,
                r##"<path class="release" d="M{xx:.2},{y1:.2} L{xx:.2},{y2:.2} M{a:.2},{ay:.2} L{xx:.2},{y2:.2} L{b:.2},{ay:.2}" stroke="#000000" stroke-width="1" fill="none"/>"##,
                a = xx - 3.0,
                b = xx + 3.0,
                ay = y2 + 5.0
            );
        }
        let mut dl = r.deadlines.clone();
        dl.sort();
        for &(t, miss) in &dl {
            if t > g.t_end {
                continue;
            }
            let xx = x(t);
            let (y1, y2) = (top + 4.0, base);
            let (cls, col, sw) = if miss {
                ("deadline miss", MISS_COLOR, 2.0)
            } else {
                ("deadline", "#555555", 1.0)
            };
            let _ = writeln!(
                s,
                r#"<path class="{cls}" d="M{xx:.2},{y1:.2} L{xx:.2},{y2:.2} M{a:.2},{ay:.2} L{xx:.2},{y2:.2} L{b:.2},{ay:.2}" stroke="{col}" stroke-width="{sw}" fill="none"/>"#,
                a = xx - 3.0,
                b = xx + 3.0,
                ay = y2 - 5.0
            );
        }
        s.push_str("</g>\n");
    }

    // Legend.
    let ly = legend_y;
    let mut lx = LABEL_W;
    s.push_str("<g class=\"legend\">\n");
    let _ = writeln!(
        s,
        r#"<rect x="{lx:.2}" y="{y:.2}" width="20" height="10" fill="{}"/><text x="{tx:.2}" y="{ty:.2}">executing (one colour per task)</text>"#,
        PALETTE[0],
        y = ly - 9.0,
        tx = lx + 26.0,
        ty = ly
    );
    lx += 230.0;
    let _ = writeln!(
        s,
        r#"<rect x="{lx:.2}" y="{y:.2}" width="20" height="10" fill="{MISS_COLOR}"/><text x="{tx:.2}" y="{ty:.2}">job that missed its deadline</text>"#,
        y = ly - 9.0,
        tx = lx + 26.0,
        ty = ly
    );
    lx += 210.0;
    let _ = writeln!(
        s,
        r##"<path d="M{lx:.2},{b:.2} L{lx:.2},{t:.2} M{a1:.2},{t5:.2} L{lx:.2},{t:.2} L{a2:.2},{t5:.2}" stroke="#000000" fill="none"/><text x="{tx:.2}" y="{ty:.2}">release</text>"##,
        b = ly + 2.0,
        t = ly - 12.0,
        t5 = ly - 7.0,
        a1 = lx - 3.0,
        a2 = lx + 3.0,
        tx = lx + 8.0,
        ty = ly
    );
    lx += 80.0;
    let _ = writeln!(
        s,
        r##"<path d="M{lx:.2},{t:.2} L{lx:.2},{b:.2} M{a1:.2},{b5:.2} L{lx:.2},{b:.2} L{a2:.2},{b5:.2}" stroke="#555555" fill="none"/><text x="{tx:.2}" y="{ty:.2}">deadline (red: missed)</text>"##,
        b = ly + 2.0,
        t = ly - 12.0,
        b5 = ly - 3.0,
        a1 = lx - 3.0,
        a2 = lx + 3.0,
        tx = lx + 8.0,
        ty = ly
    );
    s.push_str("</g>\n</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimal well-formedness check: tags balance, attributes quoted.
    fn check_xml(s: &str) -> Result<usize, String> {
        let mut stack: Vec<String> = Vec::new();
        let mut n = 0;
        let mut rest = s;
        while let Some(i) = rest.find('<') {
            let after = &rest[i + 1..];
            let j = after.find('>').ok_or("unterminated tag")?;
            let tag = &after[..j];
            rest = &after[j + 1..];
            if tag.starts_with('?') || tag.starts_with('!') {
                continue;
            }
            n += 1;
            if let Some(name) = tag.strip_prefix('/') {
                let top = stack.pop().ok_or(format!("unexpected </{name}>"))?;
                if top != name.trim() {
                    return Err(format!("</{name}> closes <{top}>"));
                }
            } else {
                if !tag.matches('"').count().is_multiple_of(2) {
                    return Err(format!("unbalanced quotes in <{tag}>"));
                }
                if !tag.ends_with('/') {
                    let name = tag.split_whitespace().next().unwrap_or("").to_string();
                    stack.push(name);
                }
            }
        }
        if !stack.is_empty() {
            return Err(format!("unclosed {stack:?}"));
        }
        Ok(n)
    }

    fn attr(tag: &str, name: &str) -> f64 {
        let k = format!(" {name}=\"");
        let i = tag.find(&k).unwrap() + k.len();
        let j = tag[i..].find('"').unwrap();
        tag[i..i + j].parse().unwrap()
    }

    fn tags<'a>(s: &'a str, prefix: &str) -> Vec<&'a str> {
        s.match_indices(prefix)
            .map(|(i, _)| {
                let e = s[i..].find('>').unwrap();
                &s[i..i + e]
            })
            .collect()
    }

    fn chart(nrows: usize, bars_per_row: usize) -> Gantt {
        let ms = 1_000_000i64;
        let mut rows = Vec::new();
        for r in 0..nrows {
            let mut row = Row {
                label: format!("task<{r}>&"),
                ..Default::default()
            };
            for b in 0..bars_per_row as i64 {
                let st = b * 100 * ms + r as i64 * 5 * ms;
                row.bars.push(Bar {
                    start: st,
                    end: st + 3 * ms,
                    miss: r == 1 && b == 2,
                });
                row.releases.push(b * 100 * ms);
                row.deadlines.push(((b + 1) * 100 * ms, r == 1 && b == 2));
            }
            rows.push(row);
        }
        Gantt {
            title: "test".into(),
            rows,
            t_start: 0,
            t_end: bars_per_row as i64 * 100 * ms,
        }
    }

    #[test]
    fn structure() {
        let g = chart(10, 30);
        let s = render(&g, 1400);
        check_xml(&s).unwrap();
        assert!(s.starts_with("<?xml"));
        assert_eq!(s.matches("<g class=\"row\"").count(), 10);
        assert_eq!(s.matches("<rect class=\"slice").count(), 300);
        assert_eq!(s.matches("<rect class=\"slice miss\"").count(), 1);
        assert_eq!(s.matches("<path class=\"release\"").count(), 300);
        assert_eq!(s.matches("<path class=\"deadline").count(), 300);
        assert_eq!(s.matches("class=\"deadline miss\"").count(), 1);
        assert!(s.contains("task&lt;3&gt;&amp;"));
        assert!(s.contains("time (ms)"));
        assert!(s.contains("class=\"legend\""));
        // Miss bars use the miss colour, others never do.
        for t in tags(&s, "<rect class=\"slice") {
            assert_eq!(t.contains(MISS_COLOR), t.contains("slice miss"), "{t}");
        }
    }

    #[test]
    fn coordinates_monotonic() {
        let g = chart(3, 20);
        let s = render(&g, 1200);
        // Within each row bars appear in time order with increasing x, and
        // rows are stacked downwards.
        let mut last_row_y = -1.0;
        for (ri, row) in s.split("<g class=\"row\"").skip(1).enumerate() {
            let row = row.split("</g>").next().unwrap();
            let rects = tags(row, "<rect class=\"slice");
            assert_eq!(rects.len(), 20, "row {ri}");
            let xs: Vec<f64> = rects.iter().map(|t| attr(t, "x")).collect();
            assert!(xs.windows(2).all(|w| w[0] < w[1]), "row {ri}: {xs:?}");
            let y = attr(rects[0], "y");
            assert!(y > last_row_y);
            last_row_y = y;
            for t in &rects {
                let x = attr(t, "x");
                assert!((LABEL_W..=1200.0).contains(&x));
                assert!(attr(t, "width") > 0.0);
            }
        }
        // Tick labels increase left to right and cover 0..2000 ms.
        let xs: Vec<f64> = tags(&s, "<text class=\"ticklabel\"")
            .iter()
            .map(|t| attr(t, "x"))
            .collect();
        assert!(
            xs.len() >= 5 && xs.windows(2).all(|w| w[0] < w[1]),
            "{xs:?}"
        );
        assert!(s.contains(">0</text>") && s.contains(">2000</text>"));
    }

    #[test]
    fn tick_steps() {
        assert_eq!(tick_step_ms(2000.0, 20), 100.0);
        assert_eq!(tick_step_ms(3000.0, 15), 200.0);
        assert_eq!(tick_step_ms(5.0, 10), 0.5);
        assert_eq!(tick_step_ms(1000.0, 3), 500.0);
    }

    #[test]
    fn empty_chart_is_valid() {
        let s = render(&Gantt::default(), 800);
        check_xml(&s).unwrap();
        assert_eq!(s.matches("<g class=\"row\"").count(), 0);
    }
}
