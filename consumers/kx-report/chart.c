/*
 * The dashboard's charts, drawn as inline SVG by hand: horizontal bars,
 * stacked columns and a heatmap. Each chart has a viewBox and no fixed
 * size, so CSS scales it to the width of its box, and carries data
 * attributes on every mark so tests (and people) can read the numbers
 * back. The SVG has no xmlns: inline SVG in HTML needs none, and so the
 * page holds no URL at all.
 */
#include <stdio.h>
#include <string.h>

#include "report_int.h"

void
kx__html_esc(FILE *fp, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		case '\'':
			fputs("&#39;", fp);
			break;
		default:
			fputc(*s, fp);
		}
	}
}

const char *
kx__html_int(char *buf, size_t len, long long v)
{
	char digits[32];
	size_t n, o = 0;
	int neg = v < 0;
	unsigned long long u =
		neg ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	n = (size_t)snprintf(digits, sizeof(digits), "%llu", u);
	if (neg && o + 1 < len)
		buf[o++] = '-';
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (i && (n - i) % 3 == 0 && o + 1 < len)
			buf[o++] = ',';
		if (o + 1 < len)
			buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

/* The smallest 1, 2 or 5 times a power of ten that is >= v / 4. */
static long long
nice_step(long long v)
{
	long long step = 1;

	for (;;) {
		if (step * 4 >= v)
			return step;
		if (step * 2 * 4 >= v)
			return step * 2;
		if (step * 5 * 4 >= v)
			return step * 5;
		step *= 10;
	}
}

static void
open_svg(FILE *fp, int w, int h, const char *cls, const char *title)
{
	fprintf(fp,
		"<svg class=\"chart %s\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"",
		cls, w, h);
	kx__html_esc(fp, title);
	fputs("\" preserveAspectRatio=\"xMinYMin meet\">", fp);
}

#define HB_BAR 200
#define HB_ROW 26

void
kx__chart_hbars(FILE *fp, const char *title, const struct kx_chart_bar *bars,
		size_t n, int label_w, int note_w)
{
	const int HB_LABEL = label_w;
	long long max = 1;
	char num[32], tnum[32];

	for (size_t i = 0; i < n; i++)
		if (bars[i].value > max)
			max = bars[i].value;
	open_svg(fp, label_w + HB_BAR + note_w, (int)n * HB_ROW + 6, "hbars",
		 title);
	for (size_t i = 0; i < n; i++) {
		const struct kx_chart_bar *b = &bars[i];
		int y = (int)i * HB_ROW + 3;
		long long scale = max;
		double w;

		if (b->target >= 0)
			scale = b->target > b->value ? b->target : b->value;
		if (scale <= 0)
			scale = 1;
		w = (double)HB_BAR * (double)b->value / (double)scale;
		fprintf(fp, "<g><title>");
		kx__html_esc(fp, b->label);
		fprintf(fp, ": %s", kx__html_int(num, sizeof(num), b->value));
		if (b->target >= 0)
			fprintf(fp, " of %s",
				kx__html_int(tnum, sizeof(tnum), b->target));
		fprintf(fp,
			"</title><text class=\"lbl\" x=\"%d\" y=\"%d\" "
			"text-anchor=\"end\">",
			HB_LABEL - 8, y + 16);
		kx__html_esc(fp, b->label);
		fputs("</text>", fp);
		/* The track shows the whole scale: the target, or the largest
		 * value of the chart. */
		fprintf(fp,
			"<rect class=\"track\" x=\"%d\" y=\"%d\" width=\"%d\" "
			"height=\"%d\" rx=\"3\"/>",
			HB_LABEL, y + 4, HB_BAR, HB_ROW - 10);
		fprintf(fp, "<rect class=\"bar%s\" data-bar=\"",
			b->target >= 0 && b->value >= b->target && b->target > 0
				? " met"
				: "");
		kx__html_esc(fp, b->key);
		fprintf(fp, "\" data-value=\"%lld\"", b->value);
		if (b->target >= 0)
			fprintf(fp, " data-target=\"%lld\"", b->target);
		fprintf(fp,
			" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
			"rx=\"3\" fill=\"",
			HB_LABEL, y + 4, w, HB_ROW - 10);
		kx__html_esc(fp, b->colour ? b->colour : "#3b5b92");
		fputs("\"/>", fp);
		if (b->target > 0 && b->value > b->target)
			fprintf(fp,
				"<line class=\"goal\" x1=\"%.1f\" x2=\"%.1f\" "
				"y1=\"%d\" y2=\"%d\"/>",
				HB_LABEL + (double)HB_BAR * (double)b->target /
						   (double)scale,
				HB_LABEL + (double)HB_BAR * (double)b->target /
						   (double)scale,
				y + 1, y + HB_ROW - 3);
		fprintf(fp, "<text class=\"val\" x=\"%d\" y=\"%d\">",
			HB_LABEL + HB_BAR + 8, y + 16);
		if (b->note)
			kx__html_esc(fp, b->note);
		else
			fputs(kx__html_int(num, sizeof(num), b->value), fp);
		fputs("</text></g>", fp);
	}
	fputs("</svg>\n", fp);
}

#define COL_W 720
#define COL_H 230
#define COL_LEFT 48
#define COL_TOP 12
#define COL_PLOT 170

void
kx__chart_columns(FILE *fp, const char *id, const char *title,
		  const char *const *xkeys, const char *const *xlabels,
		  size_t nx, const struct kx_chart_series *series, size_t ns,
		  const long long *values)
{
	long long max = 0, step, top;
	double slot, bw;
	char num[32];

	for (size_t x = 0; x < nx; x++) {
		long long sum = 0;
		for (size_t s = 0; s < ns; s++)
			sum += values[x * ns + s];
		if (sum > max)
			max = sum;
	}
	step = nice_step(max > 0 ? max : 1);
	top = step * ((max + step - 1) / step);
	if (top <= 0)
		top = step;
	slot = (double)(COL_W - COL_LEFT - 8) / (double)(nx ? nx : 1);
	bw = slot * 0.72 > 44 ? 44 : slot * 0.72;
	open_svg(fp, COL_W, COL_H, "columns", title);
	for (long long t = 0; t <= top; t += step) {
		double y = COL_TOP + COL_PLOT -
			   (double)COL_PLOT * (double)t / (double)top;
		fprintf(fp,
			"<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" "
			"y2=\"%.1f\"/><text class=\"tick\" x=\"%d\" y=\"%.1f\" "
			"text-anchor=\"end\">%s</text>",
			COL_LEFT, COL_W - 4, y, y, COL_LEFT - 6, y + 4,
			kx__html_int(num, sizeof(num), t));
	}
	for (size_t x = 0; x < nx; x++) {
		double cx = COL_LEFT + slot * (double)x + (slot - bw) / 2;
		double base = COL_TOP + COL_PLOT;
		long long sum = 0;

		for (size_t s = 0; s < ns; s++)
			sum += values[x * ns + s];
		fputs("<g data-col=\"", fp);
		kx__html_esc(fp, id);
		fputc(':', fp);
		kx__html_esc(fp, xkeys[x]);
		fprintf(fp, "\" data-value=\"%lld\"><title>", sum);
		kx__html_esc(fp, xkeys[x]);
		fprintf(fp, ": %s", kx__html_int(num, sizeof(num), sum));
		for (size_t s = 0; s < ns; s++) {
			long long v = values[x * ns + s];
			if (!v)
				continue;
			fputs("\n", fp);
			kx__html_esc(fp, series[s].label);
			fprintf(fp, " %s", kx__html_int(num, sizeof(num), v));
		}
		fputs("</title>", fp);
		for (size_t s = 0; s < ns; s++) {
			long long v = values[x * ns + s];
			double h = (double)COL_PLOT * (double)v / (double)top;
			if (!v)
				continue;
			base -= h;
			fputs("<rect data-bar=\"", fp);
			kx__html_esc(fp, id);
			fputc(':', fp);
			kx__html_esc(fp, xkeys[x]);
			fputc(':', fp);
			kx__html_esc(fp, series[s].key);
			fprintf(fp,
				"\" data-value=\"%lld\" x=\"%.1f\" y=\"%.1f\" "
				"width=\"%.1f\" height=\"%.1f\" fill=\"",
				v, cx, base, bw, h);
			kx__html_esc(fp, series[s].colour);
			fputs("\"/>", fp);
		}
		fputs("</g>", fp);
		if (xlabels[x]) {
			fprintf(fp,
				"<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" "
				"y1=\"%d\" y2=\"%d\"/>"
				"<text class=\"tick\" x=\"%.1f\" y=\"%d\" "
				"text-anchor=\"start\">",
				cx, cx, COL_TOP + COL_PLOT,
				COL_TOP + COL_PLOT + 5, cx,
				COL_TOP + COL_PLOT + 18);
			kx__html_esc(fp, xlabels[x]);
			fputs("</text>", fp);
		}
	}
	fprintf(fp,
		"<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" "
		"y2=\"%d\"/>",
		COL_LEFT, COL_W - 4, COL_TOP + COL_PLOT, COL_TOP + COL_PLOT);
	fputs("</svg>\n", fp);
}

#define HM_LABEL 96
#define HM_CELL 38
#define HM_HEAD 40

/* Chooses black or white text for a cell of colour hex at opacity a. */
static int
dark_text(const char *hex, double a)
{
	unsigned r = 0, g = 0, b = 0;
	double lum;

	if (sscanf(hex, "#%02x%02x%02x", &r, &g, &b) != 3)
		return 1;
	/* The colour as seen over white at opacity a. */
	lum = (0.299 * (a * r + (1 - a) * 255) +
	       0.587 * (a * g + (1 - a) * 255) +
	       0.114 * (a * b + (1 - a) * 255)) /
	      255.0;
	return lum > 0.62;
}

void
kx__chart_heatmap(FILE *fp, const char *title, const char *const *rows,
		  size_t nrows, const struct kx_chart_series *cols,
		  size_t ncols, const long long *values)
{
	long long max = 1;
	int w = HM_LABEL + (int)ncols * HM_CELL + 2;
	int h = HM_HEAD + (int)nrows * HM_CELL + 2;
	char num[32];

	for (size_t i = 0; i < nrows * ncols; i++)
		if (values[i] > max)
			max = values[i];
	open_svg(fp, w, h, "heatmap", title);
	for (size_t c = 0; c < ncols; c++) {
		int x = HM_LABEL + (int)c * HM_CELL;
		fprintf(fp, "<g><title>");
		kx__html_esc(fp, cols[c].label);
		fprintf(fp,
			"</title><rect x=\"%d\" y=\"2\" width=\"%d\" "
			"height=\"%d\" rx=\"3\" fill=\"",
			x + 1, HM_CELL - 2, HM_HEAD - 6);
		kx__html_esc(fp, cols[c].colour);
		fprintf(fp,
			"\"/><text class=\"goalno\" x=\"%d\" y=\"%d\" "
			"text-anchor=\"middle\">",
			x + HM_CELL / 2, HM_HEAD / 2 + 5);
		kx__html_esc(fp, cols[c].key);
		fputs("</text></g>", fp);
	}
	for (size_t r = 0; r < nrows; r++) {
		int y = HM_HEAD + (int)r * HM_CELL;
		fprintf(fp,
			"<text class=\"lbl\" x=\"%d\" y=\"%d\" "
			"text-anchor=\"end\">",
			HM_LABEL - 8, y + HM_CELL / 2 + 5);
		kx__html_esc(fp, rows[r]);
		fputs("</text>", fp);
		for (size_t c = 0; c < ncols; c++) {
			long long v = values[r * ncols + c];
			int x = HM_LABEL + (int)c * HM_CELL;
			double a = v > 0 ? 0.14 + 0.86 * (double)v / (double)max
					 : 1.0;
			const char *fill = v > 0 ? cols[c].colour : "#eef0f3";

			fputs("<g><title>", fp);
			kx__html_esc(fp, rows[r]);
			fputs(" \xc2\xb7 ", fp);
			kx__html_esc(fp, cols[c].label);
			fprintf(fp, ": %s tagged",
				kx__html_int(num, sizeof(num), v));
			fputs("</title><rect data-cell=\"", fp);
			kx__html_esc(fp, rows[r]);
			fputc(':', fp);
			kx__html_esc(fp, cols[c].key);
			fprintf(fp,
				"\" data-value=\"%lld\" x=\"%d\" y=\"%d\" "
				"width=\"%d\" height=\"%d\" rx=\"3\" fill=\"",
				v, x + 1, y + 1, HM_CELL - 2, HM_CELL - 2);
			kx__html_esc(fp, fill);
			fprintf(fp, "\" fill-opacity=\"%.2f\"/>", a);
			if (v > 0) {
				fprintf(fp,
					"<text class=\"cell%s\" x=\"%d\" "
					"y=\"%d\" text-anchor=\"middle\">%s"
					"</text>",
					dark_text(cols[c].colour, a) ? ""
								     : " inv",
					x + HM_CELL / 2, y + HM_CELL / 2 + 5,
					kx__html_int(num, sizeof(num), v));
			}
			fputs("</g>", fp);
		}
	}
	fputs("</svg>\n", fp);
}
