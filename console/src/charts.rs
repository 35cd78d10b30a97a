//! Charts for the console's pages, drawn on the server as SVG markup by `plotters`' SVG backend:
//! traffic over time, totals per agent, a budget across its window, a trace's waterfall and a
//! budget meter.
//!
//! The console's Content-Security-Policy allows no inline styles and no scripts, so the markup
//! made here must never carry a `style` attribute, a `<style>` element or a `<script>`:
//! colours and fonts are presentation attributes (`fill=`, `font-size=`), and everything else
//! is a class styled by `assets/charts.css`. Every text that comes from data (agent names,
//! models, tools, links) is XML-escaped, by plotters for what it draws and here for the rest.
//!
//! Sizing: each chart is drawn at a fixed design width ([`WIDTH`] px) with a `viewBox`, and
//! `charts.css` scales it to the width of its box (`width: 100%; height: auto`) between a
//! minimum and a maximum width. At 1280 px the chart stops growing at about 1.2× (text about
//! 17 px); on a 400 px page it shrinks to about 0.7× (text about 10 px) instead of overflowing.
//! Text is drawn at 14–16 px of the design width for that reason.
//!
//! Plotters is built without fonts: its own estimate of text width (0.7 em a byte) lays out
//! labels, which is why long labels are cut here to a width that estimate allows.

use std::error::Error;
use std::fmt::Write as _;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::{RangedCoordf64, RangedCoordi64};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::fmt;

/// The width every chart (other than the meter) is designed at, in SVG user units.
pub const WIDTH: u32 = 520;
/// Waterfalls show at most this many spans; the rest are counted below the chart.
pub const MAX_WATERFALL_ROWS: usize = 200;
/// A time chart draws at most this many steps (a step that is too small for the span is
/// widened to keep the markup small).
const MAX_STEPS: i64 = 1_500;

const FONT: &str = "sans-serif";
// Plotters writes `font-size` as the size it is given divided by 1.24; these are sizes whose
// quotient is exact, so the markup reads `font-size="14"`.
const TICK_PX: u32 = 14;
const LABEL_PX: u32 = 14;
const TITLE_PX: u32 = 16;
const NOTE_PX: u32 = 12;

const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);
const GRID: RGBColor = RGBColor(0xe3, 0xe3, 0xe3);
const AXIS: RGBColor = RGBColor(0x99, 0x99, 0x99);
const ERROR: RGBColor = RGBColor(0xc6, 0x28, 0x28);

/// Colours for lines and bars, in order: Okabe–Ito's colour-blind-safe set without its yellow
/// (too faint on white), then black.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xb2), // blue
    RGBColor(0xd5, 0x5e, 0x00), // vermillion
    RGBColor(0x00, 0x9e, 0x73), // bluish green
    RGBColor(0xcc, 0x79, 0xa7), // reddish purple
    RGBColor(0xe6, 0x9f, 0x00), // orange
    RGBColor(0x56, 0xb4, 0xe9), // sky blue
    RGBColor(0x00, 0x00, 0x00),
];

/// What a chart's values count, for its axis and tooltips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Tokens,
    Usd,
    Ms,
}

impl Unit {
    /// A value in full, as tooltips and bar labels show it.
    pub fn value(self, v: f64) -> String {
        match self {
            Unit::Count | Unit::Tokens => fmt::int(v.round() as i64),
            Unit::Usd => fmt::cost(Some(v)),
            Unit::Ms => fmt::ms(Some(v)),
        }
    }

    /// A value on an axis whose ticks are `step` apart: no more digits than the step needs.
    fn tick(self, v: f64, step: f64) -> String {
        match self {
            Unit::Count | Unit::Tokens => fmt::int(v.round() as i64),
            Unit::Usd if step >= 1.0 => format!("${}", fmt::int(v.round() as i64)),
            Unit::Usd => {
                let decimals = (-step.log10()).ceil().clamp(2.0, 6.0) as usize;
                format!("${v:.decimals$}")
            }
            Unit::Ms if v == 0.0 => "0".into(),
            Unit::Ms => fmt::ms(Some(v)),
        }
    }

    fn integral(self) -> bool {
        matches!(self, Unit::Count | Unit::Tokens)
    }
}

/// One line of a time chart: `(unix ms, value)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub points: Vec<(i64, f64)>,
}

/// What a span of a trace was doing, which gives its bar's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Llm,
    Mcp,
    ApprovalWait,
    Other,
}

impl SpanKind {
    const ALL: [SpanKind; 4] = [SpanKind::Llm, SpanKind::Mcp, SpanKind::ApprovalWait, SpanKind::Other];

    fn name(self) -> &'static str {
        match self {
            SpanKind::Llm => "LLM call",
            SpanKind::Mcp => "MCP call",
            SpanKind::ApprovalWait => "approval wait",
            SpanKind::Other => "other",
        }
    }

    fn colour(self) -> RGBColor {
        match self {
            SpanKind::Llm => PALETTE[0],
            SpanKind::Mcp => PALETTE[2],
            SpanKind::ApprovalWait => PALETTE[4],
            SpanKind::Other => RGBColor(0x88, 0x88, 0x88),
        }
    }
}

/// One span of a trace's waterfall.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub label: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub kind: SpanKind,
    pub error: bool,
    pub href: Option<String>,
}

type TimeAxes<'a, DB> = ChartContext<'a, DB, Cartesian2d<WithKeyPoints<RangedCoordi64>, ValueAxis>>;

/// Axes of time against a value, with the value's grid and both axes' labels drawn.
fn time_axes<'a, DB: DrawingBackend>(
    body: &'a DrawingArea<DB, Shift>,
    y_area: u32,
    x: std::ops::Range<i64>,
    x_ticks: &TimeTicks,
    y: &Ticks,
    unit: Unit,
) -> Result<TimeAxes<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(body)
        .margin_right(20)
        .margin_left(PAD)
        .margin_top(12)
        .x_label_area_size(28)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x.with_key_points(x_ticks.points.clone()), y.axis())?;
    let x_fmt = |t: &i64| x_ticks.label(*t);
    let y_fmt = |v: &f64| unit.tick(*v, y.step);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .label_style(text(TICK_PX, MUTED))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()?;
    Ok(chart)
}

/// A time chart over `[from_ms, to_ms)` in `step_ms` steps (3,600,000 for a day by the hour,
/// 60,000 for the last hour by the minute). Each line is summed into its steps, a step with no
/// point being zero, and all lines share the axes. Times read in the page's time zone
/// ([`fmt::offset`]); each step has a tooltip with every line's value.
pub fn time_chart(title: &str, from_ms: i64, to_ms: i64, step_ms: i64, unit: Unit, lines: &[Line]) -> String {
    let steps = StepGrid::new(from_ms, to_ms, step_ms);
    let series: Vec<Vec<f64>> = lines.iter().map(|l| steps.bucket(&l.points)).collect();
    let max = series.iter().flatten().copied().fold(0.0, f64::max);
    let y = Ticks::values(max, unit);
    let x_ticks = time_ticks(steps.from, steps.last());
    let legend = Legend::layout(
        lines.iter().enumerate().map(|(i, l)| LegendEntry { label: l.label.clone(), colour: colour(i), mark: Mark::Line }).collect(),
    );
    let y_area = y.label_width(unit);
    let top = HEADER + legend.height();
    let height = top + 200 + 28;
    let zone = fmt::zone_label();

    render("time", WIDTH, height, title, |root| {
        draw_header(root, title, Some(&zone))?;
        legend.draw(root, HEADER)?;
        let (_, body) = root.split_vertically(top);
        let mut chart = time_axes(&body, y_area, steps.from..steps.last().max(steps.from + 1), &x_ticks, &y, unit)?;
        for (i, values) in series.iter().enumerate() {
            let points = values.iter().enumerate().map(|(s, v)| (steps.at(s), *v));
            chart.draw_series(LineSeries::new(points, colour(i).stroke_width(2)))?;
        }
        if lines.is_empty() {
            let (x, y) = chart.backend_coord(&(steps.from, y.top / 2.0));
            root.draw(&Text::new("no data", (x + 8, y), text(LABEL_PX, MUTED)))?;
        }

        // One tooltip a step, over the whole height of the plot, between the midpoints to
        // its neighbours.
        let mut hits = Vec::with_capacity(steps.count);
        let (_, plot_top) = chart.backend_coord(&(steps.from, y.top));
        let (_, plot_bottom) = chart.backend_coord(&(steps.from, 0.0));
        for s in 0..steps.count {
            let (x, _) = chart.backend_coord(&(steps.at(s), 0.0));
            let left = if s == 0 { x } else { (chart.backend_coord(&(steps.at(s - 1), 0.0)).0 + x) / 2 };
            let right = if s + 1 == steps.count { x } else { (chart.backend_coord(&(steps.at(s + 1), 0.0)).0 + x) / 2 };
            let mut tip = clock(steps.at(s));
            for (line, values) in lines.iter().zip(&series) {
                let _ = write!(tip, "\n{}: {}", line.label, unit.value(values[s]));
            }
            hits.push(Hit { x: left, y: plot_top, w: (right - left).max(1), h: plot_bottom - plot_top, tip, href: None });
        }
        Ok(hits)
    })
}

/// Horizontal bars, largest first, each with its name above it on the left and its value on the
/// right (tokens per agent, say). A name too long for the row is cut; its tooltip has it whole.
pub fn bar_list(title: &str, unit: Unit, items: &[(String, f64)]) -> String {
    const ROW: u32 = 38;
    let mut items: Vec<(&str, f64)> = items.iter().map(|(n, v)| (n.as_str(), clean(*v))).collect();
    items.sort_by(|a, b| b.1.total_cmp(&a.1));
    let max = items.first().map_or(0.0, |i| i.1).max(f64::MIN_POSITIVE);
    let rows = items.len().max(1) as u32;
    let height = HEADER + rows * ROW + 4;

    render("bars", WIDTH, height, title, |root| {
        draw_header(root, title, None)?;
        let (_, body) = root.split_vertically(HEADER);
        let chart = ChartBuilder::on(&body).margin_right(PAD).margin_left(PAD).build_cartesian_2d(0.0..max, 0.0..f64::from(rows))?;
        if items.is_empty() {
            root.draw(&Text::new("no data", (PAD as i32, (HEADER + 8) as i32), text(LABEL_PX, MUTED).pos(Pos::new(HPos::Left, VPos::Top))))?;
        }
        let mut hits = Vec::with_capacity(items.len());
        for (i, (name, value)) in items.iter().enumerate() {
            // Row i counts down from the top; its bar sits in the lower part of the row.
            let row_top = f64::from(rows) - i as f64;
            let bar = [(0.0, row_top - 0.58), (*value, row_top - 0.86)];
            chart.plotting_area().draw(&Rectangle::new(bar, PALETTE[0].filled()))?;
            let (x0, y0) = chart.backend_coord(&(0.0, row_top));
            let (x1, _) = chart.backend_coord(&(max, row_top));
            let shown = unit.value(*value);
            let room = (x1 - x0) as f64 - text_width(&shown, LABEL_PX) - 12.0;
            let top = Pos::new(HPos::Left, VPos::Top);
            root.draw(&Text::new(fit(name, room, LABEL_PX), (x0, y0 + 3), text(LABEL_PX, INK).pos(top)))?;
            root.draw(&Text::new(shown.clone(), (x1, y0 + 3), text(LABEL_PX, INK).pos(Pos::new(HPos::Right, VPos::Top))))?;
            hits.push(Hit { x: 0, y: y0, w: WIDTH as i32, h: ROW as i32, tip: format!("{name}: {shown}"), href: None });
        }
        Ok(hits)
    })
}

/// A budget across its window: the use so far, summed from the window's start (`usage` holds
/// each step's use at its time) up to now, the limit as a dashed line, and the window's end
/// marked "resets HH:MM" in the page's time zone. The use line turns orange at 80 % of the
/// limit and red at the limit.
pub fn budget_window(title: &str, start_ms: i64, reset_ms: i64, now_ms: i64, limit: f64, unit: Unit, usage: &[(i64, f64)]) -> String {
    let reset_ms = reset_ms.max(start_ms + 1);
    let now_ms = now_ms.clamp(start_ms, reset_ms);
    let limit = clean(limit);
    let mut steps: Vec<(i64, f64)> = usage.iter().filter(|(t, _)| (start_ms..=now_ms).contains(t)).map(|(t, v)| (*t, clean(*v))).collect();
    steps.sort_by_key(|(t, _)| *t);
    let mut used = 0.0;
    let mut cumulative = vec![(start_ms, 0.0)];
    for (t, v) in steps {
        used += v;
        cumulative.push((t, used));
    }
    cumulative.push((now_ms, used));
    // Head room above the limit for its label.
    let y = Ticks::values(used.max(limit) * 1.15, unit);
    let x_ticks = time_ticks(start_ms, reset_ms);
    let line_colour = if limit > 0.0 && used >= limit {
        ERROR
    } else if limit > 0.0 && used >= 0.8 * limit {
        PALETTE[4]
    } else {
        PALETTE[0]
    };
    let resets = if reset_ms - now_ms <= DAY { format!("resets {}", clock(reset_ms)) } else { format!("resets {} {}", day(reset_ms), clock(reset_ms)) };
    let zone = fmt::zone_label();
    let y_area = y.label_width(unit);
    let height = HEADER + 190 + 28;
    let summary = format!("{title}: {} of {} used, {resets}", unit.value(used), unit.value(limit));

    render("budget", WIDTH, height, &summary, |root| {
        draw_header(root, title, Some(&zone))?;
        let (_, body) = root.split_vertically(HEADER);
        let mut chart = time_axes(&body, y_area, start_ms..reset_ms, &x_ticks, &y, unit)?;
        // Now, as a thin upright line, under the use so the use stays on top.
        chart.draw_series(LineSeries::new([(now_ms, 0.0), (now_ms, y.top)], AXIS.stroke_width(1)))?;
        if limit > 0.0 {
            chart.draw_series(DashedLineSeries::new([(start_ms, limit), (reset_ms, limit)], 6, 4, ERROR.stroke_width(2)))?;
            let (x, ly) = chart.backend_coord(&(start_ms, limit));
            let label = format!("limit {}", unit.value(limit));
            root.draw(&Text::new(label, (x + 6, ly - 4), text(NOTE_PX, ERROR).pos(Pos::new(HPos::Left, VPos::Bottom))))?;
        }
        chart.draw_series(LineSeries::new(cumulative.iter().copied(), line_colour.stroke_width(3)))?;
        let (rx, ry) = chart.backend_coord(&(reset_ms, y.top));
        root.draw(&Text::new(resets.clone(), (rx - 6, ry + 4), text(NOTE_PX, INK).pos(Pos::new(HPos::Right, VPos::Top))))?;
        Ok(Vec::new())
    })
}

/// A trace's waterfall: one row a span (at most [`MAX_WATERFALL_ROWS`], the rest counted under
/// it), its label on the left and a bar from its start to its end on a time axis that counts
/// from the first start; the bar's colour says the span's kind, an error gets a red outline and
/// a ✕, and a span with an `href` is a link over its whole row.
pub fn waterfall(title: &str, spans: &[Span]) -> String {
    const ROW: u32 = 22;
    const LABEL_COLUMN: u32 = 170;
    let shown = &spans[..spans.len().min(MAX_WATERFALL_ROWS)];
    let left_out = spans.len() - shown.len();
    let t0 = shown.iter().map(|s| s.start_ms).min().unwrap_or(0);
    let t1 = shown.iter().map(|s| s.end_ms.max(s.start_ms)).max().unwrap_or(0);
    let total = (t1 - t0).max(1) as f64;
    let x = Ticks::values(total, Unit::Ms);
    let legend = Legend::layout(
        SpanKind::ALL
            .iter()
            .map(|k| LegendEntry { label: k.name().into(), colour: k.colour(), mark: Mark::Box })
            .chain(std::iter::once(LegendEntry { label: "error".into(), colour: ERROR, mark: Mark::Outline }))
            .collect(),
    );
    let rows = shown.len().max(1) as u32;
    let axis_top = HEADER + legend.height();
    let footer = if left_out > 0 { 24 } else { 0 };
    let height = axis_top + 24 + rows * ROW + footer + 6;

    render("waterfall", WIDTH, height, title, |root| {
        draw_header(root, title, None)?;
        legend.draw(root, HEADER)?;
        let (_, body) = root.split_vertically(axis_top);
        let (body, _) = body.split_vertically(24 + rows * ROW);
        let mut chart = ChartBuilder::on(&body)
            .margin_right(28)
            .set_label_area_size(LabelAreaPosition::Top, 24)
            .set_label_area_size(LabelAreaPosition::Left, LABEL_COLUMN)
            .build_cartesian_2d(x.axis(), 0.0..f64::from(rows))?;
        let x_fmt = |v: &f64| Unit::Ms.tick(*v, x.step);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(AXIS)
            .label_style(text(TICK_PX, MUTED))
            .x_label_formatter(&x_fmt)
            .draw()?;
        if shown.is_empty() {
            root.draw(&Text::new("no spans", (PAD as i32, (axis_top + 30) as i32), text(LABEL_PX, MUTED).pos(Pos::new(HPos::Left, VPos::Top))))?;
        }
        // The narrowest bar is one unit wide, so that an instant still shows.
        let (px0, _) = chart.backend_coord(&(0.0, 0.0));
        let (px1, _) = chart.backend_coord(&(x.top, 0.0));
        let one_unit = x.top / f64::from((px1 - px0).max(1));
        let mut hits = Vec::with_capacity(shown.len());
        for (i, span) in shown.iter().enumerate() {
            let row_top = f64::from(rows) - i as f64;
            let start = (span.start_ms - t0) as f64;
            let end = ((span.end_ms.max(span.start_ms) - t0) as f64).max(start + one_unit);
            let bar = [(start, row_top - 0.2), (end, row_top - 0.8)];
            chart.plotting_area().draw(&Rectangle::new(bar, span.kind.colour().filled()))?;
            let (bx0, by0) = chart.backend_coord(&bar[0]);
            let (bx1, _) = chart.backend_coord(&bar[1]);
            let (_, row_y) = chart.backend_coord(&(0.0, row_top));
            let label_colour = if span.error { ERROR } else { INK };
            let mut label = fit(&span.label, f64::from(LABEL_COLUMN) - f64::from(PAD) - 8.0 - if span.error { 14.0 } else { 0.0 }, LABEL_PX);
            if span.error {
                chart.plotting_area().draw(&Rectangle::new(bar, ERROR.stroke_width(2)))?;
                label = format!("✕ {label}");
                let mark = if bx1 + 16 < (WIDTH - PAD) as i32 { (bx1 + 3, HPos::Left) } else { (bx0 - 3, HPos::Right) };
                root.draw(&Text::new("✕", (mark.0, by0 + 1), text(NOTE_PX, ERROR).pos(Pos::new(mark.1, VPos::Top))))?;
            }
            let middle = row_y + ROW as i32 / 2;
            root.draw(&Text::new(label, (PAD as i32, middle), text(LABEL_PX, label_colour).pos(Pos::new(HPos::Left, VPos::Center))))?;
            let duration = fmt::ms(Some((span.end_ms.max(span.start_ms) - span.start_ms) as f64));
            let mut tip = format!("{} ({}): {} from +{}", span.label, span.kind.name(), duration, fmt::ms(Some(start)));
            if span.error {
                tip.push_str(", failed");
            }
            hits.push(Hit { x: 0, y: row_y, w: WIDTH as i32, h: ROW as i32, tip, href: span.href.clone() });
        }
        if left_out > 0 {
            let note = format!("{} more span{} not shown", fmt::int(left_out as i64), if left_out == 1 { "" } else { "s" });
            root.draw(&Text::new(note, (PAD as i32, (height - footer) as i32 + 4), text(LABEL_PX, MUTED).pos(Pos::new(HPos::Left, VPos::Top))))?;
        }
        Ok(hits)
    })
}

/// A budget bar: the filled part is `fraction` (clamped to 0..=1) of the whole width, classes
/// `meter`, plus `warn` from 80 % and `over` from 100 %, and an accessible name like
/// "37% used" (after `label`, when there is one).
///
/// Drawn directly rather than through plotters, whose coordinates are whole pixels: the fill
/// must be exactly the fraction, and the bar stretches to its box (`preserveAspectRatio="none"`).
pub fn meter(fraction: f64, label: &str) -> String {
    let fraction = clean(fraction);
    let filled = fraction.min(1.0) * 100.0;
    let class = if fraction >= 1.0 {
        "meter over"
    } else if fraction >= 0.8 {
        "meter warn"
    } else {
        "meter"
    };
    let percent = (fraction * 100.0).floor();
    let used = if fraction > 0.0 && percent == 0.0 { "<1% used".to_string() } else { format!("{percent:.0}% used") };
    let name = if label.is_empty() { used } else { format!("{label}: {used}") };
    let name = esc(&name);
    format!(
        r##"<svg class="{class}" width="100%" height="8" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label="{name}" xmlns="http://www.w3.org/2000/svg"><title>{name}</title><rect class="meter-track" x="0" y="0" width="100" height="8" fill="#e6e6e6"/><rect class="meter-fill" x="0" y="0" width="{filled}" height="8" fill="#0072b2"/></svg>"##
    )
}

// ---- layout shared by the charts -------------------------------------------------------------

/// Height of the title row at the top of every chart.
const HEADER: u32 = 28;
/// Space between a chart's edge and its text.
const PAD: u32 = 6;
const DAY: i64 = 86_400_000;

type Drawn<T> = Result<T, Box<dyn Error>>;
type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A transparent area over part of a chart carrying a tooltip, and a link when `href` is set.
/// Plotters has no links or tooltips, so these are laid over its drawing afterwards, at
/// coordinates its chart gave.
struct Hit {
    x: i32,
    y: i32,
    w: i32,
    h: i32,
    tip: String,
    href: Option<String>,
}

/// Draws a chart with plotters and gives its SVG the attributes the page needs: a class,
/// `role="img"`, an `aria-label` and a `<title>`, then the hit areas, all in a `<div
/// class="chart">` that scrolls should it ever be narrower than the chart's minimum width. If
/// drawing fails (it cannot with a string as target) the chart is an empty frame with its title.
fn render(kind: &str, width: u32, height: u32, title: &str, draw: impl for<'a> FnOnce(&Root<'a>) -> Drawn<Vec<Hit>>) -> String {
    let mut raw = String::new();
    let hits = {
        let root = SVGBackend::with_string(&mut raw, (width, height)).into_drawing_area();
        draw(&root).and_then(|hits| {
            root.present()?;
            Ok(hits)
        })
    };
    let body = match hits {
        Ok(hits) => {
            // Plotters' document is `<svg …>` (one line), the drawing, `</svg>`.
            let start = raw.find(">\n").map_or(0, |i| i + 2);
            let end = raw.rfind("</svg>").unwrap_or(raw.len()).max(start);
            let mut body = raw[start..end].to_string();
            for hit in hits {
                body.push_str(&hit.markup());
            }
            body
        }
        Err(error) => {
            tracing::warn!(%error, "a chart could not be drawn");
            String::new()
        }
    };
    let title = esc(title);
    format!(
        "<div class=\"chart chart-{kind}\"><svg class=\"chart-svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{title}\"><title>{title}</title>\n{body}</svg></div>"
    )
}

impl Hit {
    fn markup(&self) -> String {
        let rect = format!(
            "<rect class=\"hit\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#000\" fill-opacity=\"0\"><title>{}</title></rect>",
            self.x,
            self.y,
            self.w,
            self.h,
            esc(&self.tip)
        );
        match &self.href {
            Some(href) => format!("<a href=\"{}\">{rect}</a>\n", esc(href)),
            None => format!("{rect}\n"),
        }
    }
}

fn draw_header(root: &Root<'_>, title: &str, note: Option<&str>) -> Drawn<()> {
    let note_width = note.map_or(0.0, |n| text_width(n, NOTE_PX) + 12.0);
    let room = f64::from(WIDTH - 2 * PAD) - note_width;
    let top = Pos::new(HPos::Left, VPos::Top);
    root.draw(&Text::new(fit(title, room, TITLE_PX), (PAD as i32, 6), (FONT, f64::from(TITLE_PX) * 1.24, FontStyle::Bold).into_font().color(&INK).pos(top)))?;
    if let Some(note) = note {
        root.draw(&Text::new(note.to_string(), ((WIDTH - PAD) as i32, 8), text(NOTE_PX, MUTED).pos(Pos::new(HPos::Right, VPos::Top))))?;
    }
    Ok(())
}

/// A text style `px` high in the design's units.
fn text(px: u32, colour: RGBColor) -> TextStyle<'static> {
    // Plotters writes a font's size divided by 1.24 into `font-size`.
    (FONT, f64::from(px) * 1.24).into_font().color(&colour)
}

/// Plotters' estimate of a text's width, which lays out its labels.
fn text_width(s: &str, px: u32) -> f64 {
    s.len() as f64 * 0.7 * f64::from(px) / 1.24
}

/// `s`, cut with an ellipsis to fit `room` units at `px`.
fn fit(s: &str, room: f64, px: u32) -> String {
    if text_width(s, px) <= room {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if text_width(&out, px) + text_width(&c.to_string(), px) + text_width("…", px) > room {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A finite, non-negative value.
fn clean(v: f64) -> f64 {
    if v.is_finite() { v.max(0.0) } else { 0.0 }
}

/// Escapes text for XML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

enum Mark {
    Line,
    Box,
    Outline,
}

struct LegendEntry {
    label: String,
    colour: RGBColor,
    mark: Mark,
}

/// A legend's entries laid out in rows across the chart's width.
struct Legend {
    /// Each entry with its position: x, and its row.
    entries: Vec<(LegendEntry, i32, u32)>,
    rows: u32,
}

impl Legend {
    const ROW: u32 = 22;
    const MARK: i32 = 14;

    fn layout(entries: Vec<LegendEntry>) -> Legend {
        let mut placed = Vec::with_capacity(entries.len());
        let (mut x, mut row) = (PAD as i32, 0);
        let right = (WIDTH - PAD) as i32;
        for mut entry in entries {
            entry.label = fit(&entry.label, f64::from(WIDTH - 2 * PAD) - f64::from(Legend::MARK) - 6.0, NOTE_PX);
            let width = Legend::MARK + 6 + text_width(&entry.label, NOTE_PX).ceil() as i32;
            if x + width > right && x > PAD as i32 {
                row += 1;
                x = PAD as i32;
            }
            placed.push((entry, x, row));
            x += width + 16;
        }
        let rows = if placed.is_empty() { 0 } else { row + 1 };
        Legend { entries: placed, rows }
    }

    fn height(&self) -> u32 {
        self.rows * Legend::ROW
    }

    fn draw(&self, root: &Root<'_>, top: u32) -> Drawn<()> {
        for (entry, x, row) in &self.entries {
            let y = (top + row * Legend::ROW) as i32 + 4;
            let (x0, x1) = (*x, x + Legend::MARK);
            match entry.mark {
                Mark::Line => root.draw(&PathElement::new(vec![(x0, y + 7), (x1, y + 7)], entry.colour.stroke_width(3)))?,
                Mark::Box => root.draw(&Rectangle::new([(x0, y + 1), (x1, y + 13)], entry.colour.filled()))?,
                Mark::Outline => root.draw(&Rectangle::new([(x0 + 1, y + 2), (x1 - 1, y + 12)], entry.colour.stroke_width(2)))?,
            }
            let label = Text::new(entry.label.clone(), (x1 + 6, y + 7), text(NOTE_PX, INK).pos(Pos::new(HPos::Left, VPos::Center)));
            root.draw(&label)?;
        }
        Ok(())
    }
}

/// The steps of a time chart: `count` steps of `step` ms from `from`.
struct StepGrid {
    from: i64,
    step: i64,
    count: usize,
}

impl StepGrid {
    fn new(from: i64, to: i64, step: i64) -> StepGrid {
        let span = (to - from).max(1);
        let step = step.max(1).max(ceil_div(span, MAX_STEPS));
        StepGrid { from, step, count: ceil_div(span, step) as usize }
    }

    fn at(&self, i: usize) -> i64 {
        self.from + i as i64 * self.step
    }

    fn last(&self) -> i64 {
        self.at(self.count.saturating_sub(1))
    }

    /// Each step's sum of the points that fall in it.
    fn bucket(&self, points: &[(i64, f64)]) -> Vec<f64> {
        let mut values = vec![0.0; self.count];
        for (t, v) in points {
            if *t < self.from {
                continue;
            }
            if let Some(slot) = values.get_mut(((t - self.from) / self.step) as usize) {
                *slot += clean(*v);
            }
        }
        values
    }
}

/// `a / b` rounded up, for positive `a` and `b`.
fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

/// Ticks on a value axis: 0, `step`, … up to `top`, at 1, 2 or 5 times a power of ten.
struct Ticks {
    top: f64,
    step: f64,
    points: Vec<f64>,
}

impl Ticks {
    fn values(max: f64, unit: Unit) -> Ticks {
        let max = if max > 0.0 && max.is_finite() { max } else { 1.0 };
        let raw = max / 4.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let mut step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
        if unit.integral() {
            step = step.max(1.0).round();
        }
        let count = (max / step).ceil().max(1.0) as usize;
        let points: Vec<f64> = (0..=count).map(|i| i as f64 * step).collect();
        Ticks { top: count as f64 * step, step, points }
    }

    /// A plotters axis from 0 to `top` with these ticks.
    fn axis(&self) -> ValueAxis {
        ValueAxis { inner: (0.0..self.top).into(), ticks: self.points.clone() }
    }

    /// Room for the widest tick label.
    fn label_width(&self, unit: Unit) -> u32 {
        let widest = self.points.iter().map(|v| text_width(&unit.tick(*v, self.step), TICK_PX)).fold(0.0, f64::max);
        widest.ceil() as u32 + 18
    }
}

/// A value axis with the ticks of [`Ticks`]. Plotters' own `f64` axis, given key points, no
/// longer has a formatter its mesh accepts; every chart here formats its labels itself.
struct ValueAxis {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for ValueAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // No light lines between the ticks.
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

impl ValueFormatter<f64> for ValueAxis {
    fn format(value: &f64) -> String {
        value.to_string()
    }
}

/// Ticks on a time axis, on round local times.
struct TimeTicks {
    points: Vec<i64>,
    daily: bool,
}

impl TimeTicks {
    fn label(&self, t: i64) -> String {
        if self.daily { day(t) } else { clock(t) }
    }
}

fn time_ticks(from: i64, to: i64) -> TimeTicks {
    const MINUTE: i64 = 60_000;
    const STEPS: [i64; 16] = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1_440, 2 * 1_440, 7 * 1_440, 14 * 1_440, 28 * 1_440];
    let offset = i64::from(fmt::offset()) * MINUTE;
    let span = (to - from).max(1);
    let step = STEPS.iter().map(|m| m * MINUTE).find(|s| span / s <= 6).unwrap_or(28 * DAY);
    // The first round local time at or after `from`.
    let first = (from + offset).div_euclid(step) * step - offset;
    let first = if first < from { first + step } else { first };
    let points = (0..).map(|i| first + i * step).take_while(|t| *t <= to).collect();
    TimeTicks { points, daily: step >= DAY }
}

/// `14:00`, in the page's time zone.
fn clock(ms: i64) -> String {
    fmt::local(ms).map_or_else(String::new, |t| format!("{:02}:{:02}", t.hour(), t.minute()))
}

/// `5 Dec`, in the page's time zone.
fn day(ms: i64) -> String {
    fmt::local(ms).map_or_else(String::new, |t| {
        let month = t.month().to_string();
        format!("{} {}", t.day(), &month[..3.min(month.len())])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    /// 2025-12-05 16:00 UTC.
    const FROM: i64 = 1_764_950_400_000;
    const NASTY: &str = "<script>&\"";

    /// Every `<name …>` tag in `markup`, without its `<`.
    fn tags<'a>(markup: &'a str, name: &str) -> Vec<&'a str> {
        markup.split('<').filter(|t| t.strip_prefix(name).is_some_and(|rest| rest.starts_with([' ', '>', '/']))).collect()
    }

    fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(&tag[start..start + tag[start..].find('"')?])
    }

    fn num(tag: &str, name: &str) -> f64 {
        attr(tag, name).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
    }

    /// The points of the polylines plotters drew for data (stroke width 2; axes are 1).
    fn data_lines(markup: &str) -> Vec<Vec<(i32, i32)>> {
        tags(markup, "polyline")
            .into_iter()
            .filter(|t| attr(t, "stroke-width") == Some("2"))
            .map(|t| {
                attr(t, "points")
                    .unwrap_or_default()
                    .split_whitespace()
                    .filter_map(|p| p.split_once(','))
                    .map(|(x, y)| (x.parse().unwrap_or(-1), y.parse().unwrap_or(-1)))
                    .collect()
            })
            .collect()
    }

    fn span(label: &str, start_ms: i64, end_ms: i64, href: Option<&str>) -> Span {
        Span { label: label.into(), start_ms, end_ms, kind: SpanKind::Mcp, error: false, href: href.map(Into::into) }
    }

    fn every_chart() -> Vec<String> {
        let lines = vec![
            Line { label: "p50".into(), points: (0..24).map(|h| (FROM + h * HOUR, 100.0 + (h * 37 % 90) as f64)).collect() },
            Line { label: NASTY.into(), points: (0..24).map(|h| (FROM + h * HOUR + 5, 400.0 + (h * 53 % 300) as f64)).collect() },
        ];
        let spans = vec![
            Span { error: true, kind: SpanKind::Llm, ..span(NASTY, 0, 30, Some("/events/1?a=1&b=\"2\"")) },
            span("tools/call search", 10, 40, None),
        ];
        vec![
            time_chart(NASTY, FROM, FROM + 24 * HOUR, HOUR, Unit::Ms, &lines),
            time_chart(NASTY, FROM, FROM + HOUR, 60_000, Unit::Usd, &[]),
            bar_list(NASTY, Unit::Tokens, &[(NASTY.into(), 5.0), ("alpha".into(), 1.0)]),
            bar_list(NASTY, Unit::Count, &[]),
            budget_window(NASTY, FROM, FROM + 24 * HOUR, FROM + HOUR, 10.0, Unit::Usd, &[(FROM, 12.0)]),
            waterfall(NASTY, &spans),
            waterfall(NASTY, &[]),
            meter(0.5, NASTY),
        ]
    }

    #[test]
    fn no_inline_style_or_script_in_any_chart() {
        for chart in every_chart() {
            assert!(!chart.contains("style="), "{chart}");
            assert!(!chart.contains("<style"), "{chart}");
            assert!(!chart.contains("<script"), "{chart}");
        }
    }

    #[test]
    fn every_svg_has_a_size_a_view_box_and_a_name() {
        for chart in every_chart() {
            let svgs = tags(&chart, "svg");
            assert_eq!(svgs.len(), 1, "{chart}");
            for name in ["width", "height", "viewBox", "aria-label"] {
                assert!(attr(svgs[0], name).is_some_and(|v| !v.is_empty()), "{name} in {chart}");
            }
            assert_eq!(attr(svgs[0], "role"), Some("img"));
            assert_eq!(tags(&chart, "title").first().map(|t| t.split_once('>').map(|(_, text)| text)), Some(attr(svgs[0], "aria-label")), "{chart}");
        }
    }

    #[test]
    fn text_from_data_is_escaped() {
        let escaped = "&lt;script&gt;&amp;&quot;";
        for chart in every_chart() {
            assert!(chart.contains(escaped), "{chart}");
            assert!(!chart.contains(NASTY), "{chart}");
        }
        let trace = waterfall("t", &[span("s", 0, 1, Some("/events/1?a=1&b=\"2\""))]);
        assert!(trace.contains(r#"<a href="/events/1?a=1&amp;b=&quot;2&quot;">"#), "{trace}");
    }

    #[test]
    fn meter_fill_is_the_fraction_of_its_track() {
        for (fraction, filled, class, name) in [
            (0.0, 0.0, "meter", "0% used"),
            (0.01, 1.0, "meter", "1% used"),
            (0.37, 37.0, "meter", "37% used"),
            (0.8, 80.0, "meter warn", "80% used"),
            (1.0, 100.0, "meter over", "100% used"),
            (1.5, 100.0, "meter over", "150% used"),
            (f64::NAN, 0.0, "meter", "0% used"),
        ] {
            let svg = meter(fraction, "");
            let rects = tags(&svg, "rect");
            let track = rects.iter().find(|r| attr(r, "class") == Some("meter-track")).copied().unwrap_or_default();
            let fill = rects.iter().find(|r| attr(r, "class") == Some("meter-fill")).copied().unwrap_or_default();
            let (track_width, fill_width) = (num(track, "width"), num(fill, "width"));
            assert!((fill_width - fraction.clamp(0.0, 1.0).max(0.0) * track_width).abs() < 1e-9 || (fraction.is_nan() && fill_width == 0.0), "{fraction}: {svg}");
            assert_eq!(fill_width, filled, "{svg}");
            assert_eq!(attr(tags(&svg, "svg")[0], "class"), Some(class));
            assert_eq!(attr(tags(&svg, "svg")[0], "aria-label"), Some(name));
        }
        assert_eq!(attr(tags(&meter(0.37, "daily tokens"), "svg")[0], "aria-label"), Some("daily tokens: 37% used"));
    }

    #[test]
    fn time_chart_draws_a_line_a_series_with_a_point_a_step() {
        let day = time_chart("t", FROM, FROM + 24 * HOUR, HOUR, Unit::Count, &[
            Line { label: "requests".into(), points: (0..24).map(|h| (FROM + h * HOUR + 1_000, 10.0)).collect() },
            Line { label: "errors".into(), points: vec![(FROM + 5 * HOUR, 3.0), (FROM + 5 * HOUR + 60_000, 2.0)] },
        ]);
        let lines = data_lines(&day);
        assert_eq!(lines.len(), 2, "{day}");
        assert!(lines.iter().all(|l| l.len() == 24), "{lines:?}");
        assert!(lines[0].windows(2).all(|w| w[0].0 < w[1].0), "time runs left to right: {lines:?}");
        // Missing steps are zero: every step of `errors` but the sixth sits on the baseline,
        // and the sixth holds the sum of its two points, half of `requests`' 10.
        let baseline = lines[1][0].1;
        assert!(lines[1].iter().enumerate().all(|(i, p)| (i == 5) != (p.1 == baseline)), "{lines:?}");
        let half = (baseline + lines[0][0].1) / 2;
        assert!((lines[1][5].1 - half).abs() <= 1, "{lines:?}");

        let hour = time_chart("t", FROM, FROM + HOUR, 60_000, Unit::Ms, &[Line { label: "p95".into(), points: vec![] }]);
        let lines = data_lines(&hour);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), 60);
        assert_eq!(tags(&hour, "rect").iter().filter(|r| attr(r, "class") == Some("hit")).count(), 60, "a tooltip a step");
    }

    #[test]
    fn time_axis_reads_in_the_page_time_zone() {
        let chart = |offset| fmt::with_offset(offset, || time_chart("t", FROM, FROM + 24 * HOUR, HOUR, Unit::Count, &[]));
        let texts = |markup: &str| -> Vec<(String, f64)> {
            tags(markup, "text").iter().filter_map(|t| t.split_once('>').map(|(_, s)| (s.trim().to_string(), num(t, "x")))).collect()
        };
        let ticks = |texts: &[(String, f64)]| texts.iter().filter(|(s, _)| s.contains(':') && !s.starts_with("UTC")).cloned().collect::<Vec<_>>();
        // From 16:00 UTC, 17:30 at UTC+01:30: the ticks fall on round local hours, so 18:00 is
        // half an hour in at UTC+01:30 and two hours in at UTC.
        let utc = texts(&chart(0));
        let east = texts(&chart(90));
        assert!(utc.iter().any(|(s, _)| s == "UTC") && east.iter().any(|(s, _)| s == "UTC+01:30"), "{east:?}");
        let labels = |ticks: Vec<(String, f64)>| ticks.into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        assert_eq!(labels(ticks(&utc)), ["18:00", "00:00", "06:00", "12:00"]);
        assert_eq!(labels(ticks(&east)), ["18:00", "00:00", "06:00", "12:00"]);
        let (utc_x, east_x) = (ticks(&utc)[0].1, ticks(&east)[0].1);
        let six_hours = ticks(&utc)[1].1 - utc_x;
        assert!(((utc_x - east_x) - 1.5 * six_hours / 6.0).abs() <= 2.0, "{utc:?} {east:?}");
    }

    #[test]
    fn bar_list_puts_the_largest_first_with_its_value() {
        let chart = bar_list("t", Unit::Usd, &[("small".into(), 1.5), ("large".into(), 30.0), ("middle".into(), 2.0)]);
        let at = |s: &str| chart.find(s).unwrap_or(usize::MAX);
        assert!(at("large") < at("middle") && at("middle") < at("small"), "{chart}");
        assert!(chart.contains("$30.00") && chart.contains("$1.50"), "{chart}");
        let bars: Vec<f64> = tags(&chart, "rect").iter().filter(|r| attr(r, "class").is_none()).map(|r| num(r, "width")).collect();
        assert_eq!(bars.len(), 3);
        assert!((bars[1] / bars[0] - 2.0 / 30.0).abs() < 0.02, "{bars:?}");
    }

    #[test]
    fn waterfall_bars_sit_at_their_start_and_last_their_duration() {
        let spans = [span("a", 1_000, 1_100, None), span("b", 1_100, 1_300, None), span("c", 1_250, 1_500, None)];
        let chart = waterfall("t", &spans);
        let colour = make_colour(SpanKind::Mcp.colour());
        // The first rect of the kind's colour is its legend's swatch.
        let bars: Vec<(f64, f64)> = tags(&chart, "rect").iter().filter(|r| attr(r, "fill") == Some(colour.as_str())).skip(1).map(|r| (num(r, "x"), num(r, "width"))).collect();
        assert_eq!(bars.len(), 3, "{chart}");
        let per_ms = bars[0].1 / 100.0;
        for ((x, width), s) in bars.iter().zip(&spans) {
            assert!((x - bars[0].0 - (s.start_ms - 1_000) as f64 * per_ms).abs() <= 2.0, "{bars:?}");
            assert!((width - (s.end_ms - s.start_ms) as f64 * per_ms).abs() <= 2.0, "{bars:?}");
        }
        assert!(per_ms > 0.3, "the bars use the width: {bars:?}");
    }

    #[test]
    fn waterfall_links_rows_marks_errors_and_stops_at_its_cap() {
        let spans: Vec<Span> = (0..250)
            .map(|i| Span { error: i == 1, ..span(&format!("span {i}"), i, i + 10, (i % 2 == 0).then_some("/events/x")) })
            .collect();
        let chart = waterfall("t", &spans);
        assert_eq!(chart.matches("<a href=\"/events/x\">").count(), 100, "links for the 200 shown");
        assert!(chart.contains("50 more spans not shown"), "{chart}");
        assert!(!chart.contains("span 200"), "{chart}");
        let colour = make_colour(SpanKind::Mcp.colour());
        assert_eq!(tags(&chart, "rect").iter().filter(|r| attr(r, "fill") == Some(colour.as_str())).count(), 201, "200 bars and a swatch");
        let error = make_colour(ERROR);
        assert_eq!(tags(&chart, "rect").iter().filter(|r| attr(r, "stroke") == Some(error.as_str())).count(), 2, "the error's outline and its legend");
        let short = waterfall("t", &spans[..3]);
        assert!(!short.contains("not shown"));
        assert!(num(tags(&chart, "svg")[0], "height") > 20.0 * num(tags(&short, "svg")[0], "height"), "height grows with rows");
    }

    #[test]
    fn budget_window_marks_its_reset_in_the_page_time_zone() {
        let reset = FROM + 8 * HOUR + 30 * 60_000; // 00:30 UTC
        let draw = || budget_window("spend", FROM, reset, FROM + HOUR, 10.0, Unit::Usd, &[(FROM, 2.0), (FROM + 30 * 60_000, 3.0), (FROM + 2 * HOUR, 50.0)]);
        assert!(draw().contains("resets 00:30"), "{}", draw());
        let east = fmt::with_offset(120, draw);
        assert!(east.contains("resets 02:30") && !east.contains("resets 00:30"), "{east}");
        assert!(east.contains("$5.00 of $10.00 used"), "use counts up to now only: {east}");
        let used = data_lines(&east).into_iter().max_by_key(Vec::len).unwrap_or_default();
        assert!(used.windows(2).all(|w| w[1].1 <= w[0].1), "the use only climbs: {used:?}");
    }

    fn make_colour(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }
}
