/*
 * kx-report's internals, shared by its three parts: main.c (the command
 * line and the table, CSV and JSON forms), html.c (the self-contained HTML
 * dashboard) with chart.c (the inline SVG charts it draws), and serve.c
 * (the same page served live over HTTP).
 *
 * Invariant: every text that comes from the database reaches the page
 * through kx__html_esc(), in element content and attribute values alike,
 * so a party named "<script>" renders as text. The page loads nothing:
 * no script, font, image or style sheet from anywhere.
 */
#ifndef KX_REPORT_INT_H
#define KX_REPORT_INT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

/* Writes s with & < > " ' escaped: safe in text and in quoted attributes. */
void kx__html_esc(FILE *fp, const char *s);

/* Formats v with thousands separators ("20,000") into buf. */
const char *kx__html_int(char *buf, size_t len, long long v);

/*
 * Reads every view the dashboard shows, in one read-only snapshot, and
 * writes the whole page to fp. Nothing is written when a query fails.
 * Returns 0, or -1 with a one-line reason in errbuf.
 */
int kx__html_render(PGconn *conn, FILE *fp, char *errbuf, size_t errlen);

/*
 * Serves the dashboard at http://ADDR:PORT/ (and /healthz) until SIGINT or
 * SIGTERM, connecting with conninfo for each page. Returns 0 on a clean
 * stop, or -1 with a reason in errbuf.
 */
int kx__serve(const char *addr, const char *conninfo, char *errbuf,
	      size_t errlen);

/* One series of a chart: its key (for data attributes), label and colour. */
struct kx_chart_series {
	const char *key;
	const char *label;
	const char *colour;
};

/*
 * One row of a horizontal bar chart. With target >= 0 the row is drawn
 * against its own target (a track to the target, the bar up to value);
 * otherwise every row shares the scale 0..max. note, when set, is shown
 * after the bar instead of the value.
 */
struct kx_chart_bar {
	const char *label;
	const char *key;
	long long value;
	long long target;
	const char *note;
	const char *colour;
};

/*
 * Draws a horizontal bar chart as inline SVG. Every bar is a <rect> with
 * data-bar="KEY" and data-value; title labels the chart for screen readers.
 * label_w and note_w are the widths, in viewBox units, left for the labels
 * before the bars and for the values after them.
 */
void kx__chart_hbars(FILE *fp, const char *title,
		     const struct kx_chart_bar *bars, size_t n, int label_w,
		     int note_w);

/*
 * Draws a stacked column chart: nx columns (xkeys name them in data
 * attributes, xlabels label the axis, NULL for no label) of ns series,
 * values[x * ns + s]. Each non-zero segment is a <rect> with
 * data-bar="ID:XKEY:SERIESKEY" and data-value.
 */
void kx__chart_columns(FILE *fp, const char *id, const char *title,
		       const char *const *xkeys, const char *const *xlabels,
		       size_t nx, const struct kx_chart_series *series,
		       size_t ns, const long long *values);

/*
 * Draws a heatmap of nrows rows by the ncols columns: cell (r, c) is a
 * <rect> with data-cell="ROWKEY:COLKEY" and data-value, filled with its
 * column's colour at a strength that grows with values[r * ncols + c].
 */
void kx__chart_heatmap(FILE *fp, const char *title, const char *const *rows,
		       size_t nrows, const struct kx_chart_series *cols,
		       size_t ncols, const long long *values);

#endif
