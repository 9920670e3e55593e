/*
 * The HTML dashboard of kx-report --format html: one self-contained page
 * (inline CSS, inline SVG, no script, no URL) over the views of CONTRACT
 * §3, with a few read-only queries of its own for what no view holds (the
 * data-quality panel and the most active partners).
 *
 * Every query runs first, inside one READ ONLY REPEATABLE READ
 * transaction, so the sections agree with each other and a failed query
 * writes nothing. Every number on the page sits on an element with a data
 * attribute (data-kpi, data-bar, data-cell, ...) naming what it is, and
 * every text from the database goes through kx__html_esc().
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kxdb.h"
#include "report_int.h"

enum query {
	Q_PROGRAMMES,
	Q_FUNNEL,
	Q_PROG_SDG,
	Q_SDG,
	Q_SDG_TARGETS,
	Q_MONTHLY,
	Q_TARGETS,
	Q_PARTNERS,
	Q_REJECTED,
	Q_UNTAGGED,
	Q_NEWEST,
	Q_OFFSETS,
	Q_N
};

/* The number of current entities a row of the views counts. */
#define ENTITIES                                                               \
	"(pairings_proposed + pairings_active + pairings_completed + "         \
	"pairings_suspended + pairings_withdrawn + visits_planned + "          \
	"visits_held + visits_cancelled + practices_documented + "             \
	"transfers_in_progress + transfers_replicated + transfers_abandoned)"
/* A timestamp as UTC text, e.g. to_char(x AT TIME ZONE 'UTC', UTC). */
#define UTC "'YYYY-MM-DD HH24:MI \"UTC\"')"

static const char *const queries[Q_N] = {
	[Q_PROGRAMMES] =
		"SELECT programme, partners, countries, pairings_active, "
		"action_plans_adopted, visits_held, participants, "
		"transfers_replicated, "
		"to_char(last_event_at AT TIME ZONE 'UTC', " UTC ", "
		"pilot_projects, practices_documented "
		"FROM kx.programme_progress ORDER BY programme",
	[Q_FUNNEL] = "SELECT programme, state, pairings FROM kx.pairing_funnel "
		     "ORDER BY programme, array_position(ARRAY['proposed', "
		     "'matched', 'agreement_signed', 'action_plan_adopted', "
		     "'completed', 'suspended', 'withdrawn'], state)",
	[Q_PROG_SDG] = "SELECT programme, sdg_goal, " ENTITIES
		       " FROM kx.programme_sdg_progress",
	[Q_SDG] = "SELECT sdg_goal, " ENTITIES ", partners, countries, "
		  "pairings_active, visits_held, participants, "
		  "transfers_replicated FROM kx.sdg_progress ORDER BY sdg_goal",
	[Q_SDG_TARGETS] =
		"SELECT sdg_target, sdg_goal, " ENTITIES ", pairings_active, "
		"visits_held, participants, practices_documented, "
		"transfers_replicated, partners FROM kx.sdg_target_progress "
		"ORDER BY sdg_goal, split_part(sdg_target, '.', 2) !~ "
		"'^[0-9]+$', lpad(split_part(sdg_target, '.', 2), 2, '0')",
	[Q_MONTHLY] = "SELECT to_char(month, 'YYYY-MM'), programme, "
		      "pairings_matched, visits_held, participants, "
		      "transfers_replicated FROM kx.monthly_activity "
		      "ORDER BY month, programme",
	[Q_TARGETS] = "SELECT programme, measure, target, achieved, pct "
		      "FROM kx.target_progress ORDER BY programme, measure",
	[Q_PARTNERS] =
		"WITH refs AS ("
		" SELECT unnest(party_ids) AS party_id, programme "
		"FROM kx.pairings"
		" UNION ALL SELECT unnest(party_ids), programme FROM kx.visits"
		" UNION ALL SELECT unnest(party_ids), programme "
		"FROM kx.practices"
		" UNION ALL SELECT unnest(party_ids), programme "
		"FROM kx.transfers) "
		"SELECT p.name, p.country, p.kind, count(*), "
		"string_agg(DISTINCT r.programme, ', ') "
		"FROM refs r JOIN kx.parties p USING (party_id) "
		"GROUP BY p.party_id, p.name, p.country, p.kind "
		"ORDER BY count(*) DESC, p.country, p.name LIMIT 12",
	[Q_REJECTED] = "SELECT reason, count(*), "
		       "to_char(max(rejected_at) AT TIME ZONE 'UTC', " UTC " "
		       "FROM kx.rejected_events GROUP BY reason "
		       "ORDER BY count(*) DESC, reason LIMIT 50",
	[Q_UNTAGGED] =
		"SELECT 'pairings', count(*) FILTER (WHERE sdgs = '{}'), "
		"count(*) FROM kx.pairings"
		" UNION ALL SELECT 'visits', count(*) FILTER (WHERE sdgs = "
		"'{}'), count(*) FROM kx.visits"
		" UNION ALL SELECT 'practices', count(*) FILTER (WHERE sdgs = "
		"'{}'), count(*) FROM kx.practices"
		" UNION ALL SELECT 'transfers', count(*) FILTER (WHERE sdgs = "
		"'{}'), count(*) FROM kx.transfers",
	[Q_NEWEST] =
		"SELECT to_char(max(occurred_at) AT TIME ZONE 'UTC', " UTC ", "
		"to_char(max(received_at) AT TIME ZONE 'UTC', " UTC ", "
		"count(*), (SELECT count(*) FROM kx.rejected_events) "
		"FROM kx.events",
	[Q_OFFSETS] =
		"SELECT group_id, topic, partition, next_offset, "
		"to_char(updated_at AT TIME ZONE 'UTC', " UTC " "
		"FROM kx.consumer_offsets ORDER BY group_id, topic, partition",
};

struct page {
	PGresult *res[Q_N];
};

static const struct kx_chart_series sdgs[17] = {
	{"1", "1 No poverty", "#E5243B"},
	{"2", "2 Zero hunger", "#DDA63A"},
	{"3", "3 Good health and well-being", "#4C9F38"},
	{"4", "4 Quality education", "#C5192D"},
	{"5", "5 Gender equality", "#FF3A21"},
	{"6", "6 Clean water and sanitation", "#26BDE2"},
	{"7", "7 Affordable and clean energy", "#FCC30B"},
	{"8", "8 Decent work and economic growth", "#A21942"},
	{"9", "9 Industry, innovation and infrastructure", "#FD6925"},
	{"10", "10 Reduced inequalities", "#DD1367"},
	{"11", "11 Sustainable cities and communities", "#FD9D24"},
	{"12", "12 Responsible consumption and production", "#BF8B2E"},
	{"13", "13 Climate action", "#3F7E44"},
	{"14", "14 Life below water", "#0A97D9"},
	{"15", "15 Life on land", "#56C02B"},
	{"16", "16 Peace, justice and strong institutions", "#00689D"},
	{"17", "17 Partnerships for the goals", "#19486A"},
};

static const struct {
	const char *programme;
	const char *colour;
} programme_colours[] = {
	{"IUC", "#7a8793"},	{"IURC", "#1f4e9c"}, {"ICP-AGIR", "#2a9d8f"},
	{"URBELAC", "#e07a3f"}, {"RPD", "#8e6cbb"},
};

static const char *const states[7] = {
	"proposed",  "matched",	  "agreement_signed", "action_plan_adopted",
	"completed", "suspended", "withdrawn",
};

static const char *const state_labels[7] = {
	"proposed",  "matched",	  "agreement signed", "action plan adopted",
	"completed", "suspended", "withdrawn",
};

static const char *const state_colours[7] = {
	"#9fb3c8", "#4f7cac", "#3b6aa0", "#1f4e9c",
	"#2f8f5b", "#d9a441", "#c0504d",
};

static const char *
programme_colour(const char *programme)
{
	for (size_t i = 0;
	     i < sizeof(programme_colours) / sizeof(*programme_colours); i++)
		if (!strcmp(programme_colours[i].programme, programme))
			return programme_colours[i].colour;
	return "#6c757d";
}

static long long
num(PGresult *res, int r, int c)
{
	return strtoll(PQgetvalue(res, r, c), NULL, 10);
}

/* A measure name as words: "pairings_active" -> "pairings active". */
static void
words(FILE *fp, const char *name)
{
	char buf[128];
	size_t i;

	for (i = 0; name[i] && i + 1 < sizeof(buf); i++)
		buf[i] = name[i] == '_' ? ' ' : name[i];
	buf[i] = '\0';
	kx__html_esc(fp, buf);
}

static const char style[] =
	":root{--ink:#1d2733;--muted:#5d6b7a;--line:#dfe4ea;--bg:#f5f7fa;"
	"--card:#fff;--accent:#1f4e9c}"
	"*{box-sizing:border-box}"
	"html{-webkit-text-size-adjust:100%}"
	"body{margin:0;background:var(--bg);color:var(--ink);"
	"font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
	"'Noto Sans','Noto Sans CJK SC','DejaVu Sans',sans-serif}"
	"header.top{background:linear-gradient(90deg,#123a7a,#1f4e9c);"
	"color:#fff;padding:20px 24px 14px}"
	"header.top h1{margin:0;font-size:24px;letter-spacing:.2px}"
	"header.top p{margin:4px 0 0;opacity:.85;font-size:13px}"
	"nav{display:flex;flex-wrap:wrap;gap:6px 16px;margin-top:12px}"
	"nav a{color:#fff;opacity:.9;text-decoration:none;font-size:13px;"
	"border-bottom:1px solid rgba(255,255,255,.4)}"
	"main{max-width:1220px;margin:0 auto;padding:18px 20px 40px}"
	"section{background:var(--card);border:1px solid var(--line);"
	"border-radius:10px;padding:16px 18px;margin:0 0 18px}"
	"h2{font-size:18px;margin:0 0 4px}"
	"h3{font-size:14px;margin:0 0 8px;color:var(--muted);"
	"text-transform:uppercase;letter-spacing:.6px}"
	"p.note{color:var(--muted);margin:0 0 12px;font-size:13px}"
	".grid{display:grid;gap:14px;"
	"grid-template-columns:repeat(auto-fill,minmax(340px,1fr))}"
	".grid.wide{grid-template-columns:repeat(auto-fill,minmax(460px,1fr))}"
	".card{border:1px solid var(--line);border-radius:8px;padding:12px "
	"14px;"
	"border-top:4px solid var(--pc,#6c757d)}"
	".card h3{color:var(--ink);font-size:16px;text-transform:none;"
	"letter-spacing:0;display:flex;justify-content:space-between;"
	"align-items:baseline}"
	".card h3 small{color:var(--muted);font-weight:400;font-size:12px}"
	".kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:10px 8px}"
	".kpi b{display:block;font-size:22px;font-variant-numeric:tabular-nums;"
	"line-height:1.15}"
	".kpi span{font-size:11.5px;color:var(--muted)}"
	"svg.chart{display:block;width:100%;height:auto;"
	"font-family:inherit}"
	"svg .lbl{font-size:12.5px;fill:var(--ink)}"
	"svg .val{font-size:12.5px;fill:var(--muted);"
	"font-variant-numeric:tabular-nums}"
	"svg .tick{font-size:11px;fill:var(--muted)}"
	"svg .track{fill:#eef1f5}"
	"svg .grid{stroke:#e8ecf1;stroke-width:1}"
	"svg .axis{stroke:#9aa6b2;stroke-width:1}"
	"svg .goal{stroke:var(--ink);stroke-width:2}"
	"svg .goalno{font-size:15px;font-weight:700;fill:#fff}"
	"svg .cell{font-size:12px;fill:#1d2733;font-weight:600}"
	"svg .cell.inv{fill:#fff}"
	".scroll{overflow-x:auto}"
	".scroll svg.heatmap{min-width:620px;max-width:880px}"
	".scroll svg.columns{min-width:520px}"
	".legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12.5px;"
	"margin:4px 0 8px;color:var(--muted)}"
	".legend i{display:inline-block;width:11px;height:11px;"
	"border-radius:2px;margin-right:5px;vertical-align:-1px}"
	"details{border-top:1px solid var(--line);padding:6px 0}"
	"details summary{cursor:pointer;list-style:none;display:flex;gap:10px;"
	"align-items:center}"
	"details summary::-webkit-details-marker{display:none}"
	"details summary::after{content:'\\25B8';color:var(--muted);"
	"margin-left:auto}"
	"details[open] summary::after{content:'\\25BE'}"
	".tile{display:inline-flex;align-items:center;justify-content:center;"
	"min-width:30px;height:30px;border-radius:4px;color:#fff;"
	"font-weight:700}"
	"details.none summary{opacity:.55}"
	".sdgs{display:grid;grid-template-columns:1fr 1fr;column-gap:22px}"
	".sum{color:var(--muted);font-size:12.5px;white-space:nowrap}"
	"table{border-collapse:collapse;width:100%;font-size:13px;"
	"margin:6px 0 4px}"
	"th,td{text-align:left;padding:5px 8px;border-bottom:1px solid "
	"var(--line)}"
	"th{color:var(--muted);font-weight:600;font-size:12px}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
	".twocol{display:grid;grid-template-columns:1fr 1fr;gap:18px}"
	".empty{padding:30px 18px;text-align:center}"
	".empty h2{font-size:22px}"
	".stat{display:flex;flex-wrap:wrap;gap:10px 26px;margin-bottom:10px}"
	".stat div b{display:block;font-size:20px}"
	".stat div span{font-size:12px;color:var(--muted)}"
	"footer{color:var(--muted);font-size:12px;text-align:center;"
	"padding:0 0 24px}"
	"@media (max-width:760px){"
	"main{padding:10px 8px 30px}section{padding:12px 10px}"
	"header.top{padding:14px 12px}"
	".grid,.grid.wide{grid-template-columns:1fr}.kpis{grid-template-"
	"columns:"
	"repeat(2,1fr)}"
	".sdgs,.twocol{grid-template-columns:1fr}}"
	"@media print{"
	"body{background:#fff;font-size:12px}"
	"header.top{background:none;color:var(--ink);padding:0 0 8px;"
	"border-bottom:2px solid var(--ink)}"
	"nav{display:none}main{max-width:none;padding:0}"
	"section{border:none;padding:8px 0;break-inside:avoid}"
	".card{break-inside:avoid}"
	".scroll{overflow:visible}"
	"details::details-content{content-visibility:visible;"
	"height:auto}"
	"details summary::after{content:''}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

static void
head(FILE *fp, const char *generated, bool empty)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" "
	      "content=\"width=device-width, initial-scale=1\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" "
	      "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
	      "<meta name=\"generator\" content=\"kx-report " KX_VERSION "\">\n"
	      "<title>KX dashboard</title>\n<style>",
	      fp);
	fputs(style, fp);
	fputs("</style>\n</head>\n<body>\n<header class=\"top\">\n"
	      "<h1>KX knowledge-exchange dashboard</h1>\n<p>"
	      "International urban and regional cooperation programmes: "
	      "progress per programme and per UN Sustainable Development "
	      "Goal. Generated ",
	      fp);
	kx__html_esc(fp, generated);
	fputs(".</p>\n", fp);
	if (!empty)
		fputs("<nav><a href=\"#programmes\">Programmes</a>"
		      "<a href=\"#funnel\">Pairing funnel</a>"
		      "<a href=\"#sdgs\">SDGs</a>"
		      "<a href=\"#trends\">Monthly trends</a>"
		      "<a href=\"#targets\">Targets</a>"
		      "<a href=\"#partners\">Partners</a>"
		      "<a href=\"#quality\">Data quality</a></nav>\n",
		      fp);
	fputs("</header>\n<main>\n", fp);
}

static void
kpi(FILE *fp, const char *programme, const char *key, const char *label,
    long long v)
{
	char buf[32];

	fputs("<div class=\"kpi\"><b data-kpi=\"", fp);
	kx__html_esc(fp, programme);
	fprintf(fp, ":%s\" data-value=\"%lld\">%s</b><span>%s</span></div>",
		key, v, kx__html_int(buf, sizeof(buf), v), label);
}

static void
section_programmes(FILE *fp, PGresult *res)
{
	fputs("<section id=\"programmes\">\n<h2>Programmes</h2>\n"
	      "<p class=\"note\">Current state of every programme's "
	      "pairings, visits and practice transfers "
	      "(kx.programme_progress).</p>\n<div class=\"grid\">\n",
	      fp);
	for (int r = 0; r < PQntuples(res); r++) {
		const char *p = PQgetvalue(res, r, 0);

		fputs("<div class=\"card\" data-programme=\"", fp);
		kx__html_esc(fp, p);
		fputs("\" style=\"--pc:", fp);
		kx__html_esc(fp, programme_colour(p));
		fputs("\"><h3>", fp);
		kx__html_esc(fp, p);
		fputs("<small>last event ", fp);
		kx__html_esc(fp, PQgetisnull(res, r, 8)
					 ? "n/a"
					 : PQgetvalue(res, r, 8));
		fputs("</small></h3><div class=\"kpis\">", fp);
		kpi(fp, p, "partners", "partners", num(res, r, 1));
		kpi(fp, p, "countries", "countries", num(res, r, 2));
		kpi(fp, p, "pairings_active", "active pairings",
		    num(res, r, 3));
		kpi(fp, p, "action_plans_adopted", "action plans",
		    num(res, r, 4));
		kpi(fp, p, "visits_held", "visits held", num(res, r, 5));
		kpi(fp, p, "participants", "participants", num(res, r, 6));
		kpi(fp, p, "transfers_replicated", "transfers replicated",
		    num(res, r, 7));
		kpi(fp, p, "practices_documented", "practices documented",
		    num(res, r, 10));
		fputs("</div></div>\n", fp);
	}
	fputs("</div>\n</section>\n", fp);
}

static void
section_funnel(FILE *fp, PGresult *res)
{
	struct kx_chart_bar bars[7];
	char keys[7][160];
	char title[128];
	int n = PQntuples(res);

	fputs("<section id=\"funnel\">\n<h2>Pairing funnel</h2>\n"
	      "<p class=\"note\">Pairings by current state, per programme "
	      "(kx.pairing_funnel).</p>\n<div class=\"grid\">\n",
	      fp);
	/* The view gives the seven states of a programme in order. */
	for (int r = 0; r + 6 < n; r += 7) {
		const char *p = PQgetvalue(res, r, 0);

		for (int s = 0; s < 7; s++) {
			snprintf(keys[s], sizeof(keys[s]), "funnel:%s:%s", p,
				 PQgetvalue(res, r + s, 1));
			bars[s] = (struct kx_chart_bar){
				.label = state_labels[s],
				.key = keys[s],
				.value = num(res, r + s, 2),
				.target = -1,
				.colour = state_colours[s],
			};
			for (int k = 0; k < 7; k++)
				if (!strcmp(PQgetvalue(res, r + s, 1),
					    states[k])) {
					bars[s].label = state_labels[k];
					bars[s].colour = state_colours[k];
				}
		}
		snprintf(title, sizeof(title), "%s pairing funnel", p);
		fputs("<div class=\"card\" style=\"--pc:", fp);
		kx__html_esc(fp, programme_colour(p));
		fputs("\"><h3>", fp);
		kx__html_esc(fp, p);
		fputs("</h3>", fp);
		kx__chart_hbars(fp, title, bars, 7, 140, 44);
		fputs("</div>\n", fp);
	}
	fputs("</div>\n</section>\n", fp);
}

static void
target_table(FILE *fp, PGresult *res, int goal)
{
	char a[32];
	int shown = 0;

	for (int r = 0; r < PQntuples(res); r++) {
		if (num(res, r, 1) != goal)
			continue;
		if (!shown++)
			fputs("<table><thead><tr><th>target</th>"
			      "<th class=\"n\">tagged</th>"
			      "<th class=\"n\">active pairings</th>"
			      "<th class=\"n\">visits held</th>"
			      "<th class=\"n\">participants</th>"
			      "<th class=\"n\">practices</th>"
			      "<th class=\"n\">transfers replicated</th>"
			      "<th class=\"n\">partners</th></tr></thead>"
			      "<tbody>",
			      fp);
		fputs("<tr data-target=\"", fp);
		kx__html_esc(fp, PQgetvalue(res, r, 0));
		fputs("\"><td>", fp);
		kx__html_esc(fp, PQgetvalue(res, r, 0));
		fputs("</td>", fp);
		for (int c = 2; c <= 8; c++)
			fprintf(fp, "<td class=\"n\">%s</td>",
				kx__html_int(a, sizeof(a), num(res, r, c)));
		fputs("</tr>", fp);
	}
	if (shown)
		fputs("</tbody></table>", fp);
	else
		fputs("<p class=\"note\">No current entity carries a target "
		      "or indicator under this goal.</p>",
		      fp);
}

static void
section_sdgs(FILE *fp, struct page *pg)
{
	PGresult *prog = pg->res[Q_PROGRAMMES], *cells = pg->res[Q_PROG_SDG];
	PGresult *goals = pg->res[Q_SDG], *targets = pg->res[Q_SDG_TARGETS];
	int np = PQntuples(prog);
	const char **rows = calloc((size_t)np + 1, sizeof(*rows));
	long long *values = calloc((size_t)np * 17 + 1, sizeof(*values));
	char a[32], b[32];

	if (!rows || !values)
		goto out;
	for (int r = 0; r < np; r++)
		rows[r] = PQgetvalue(prog, r, 0);
	for (int i = 0; i < PQntuples(cells); i++) {
		long long g = num(cells, i, 1);
		for (int r = 0; r < np; r++)
			if (g >= 1 && g <= 17 &&
			    !strcmp(rows[r], PQgetvalue(cells, i, 0)))
				values[r * 17 + (g - 1)] = num(cells, i, 2);
	}
	fputs("<section id=\"sdgs\">\n<h2>Programmes \xc3\x97 "
	      "Sustainable Development Goals</h2>\n"
	      "<p class=\"note\">Current entities (pairings, visits, "
	      "practices, transfers) tagged with each goal, by programme "
	      "(kx.programme_sdg_progress). An entity counts once per goal "
	      "it carries, so rows do not add up to the programme "
	      "totals.</p>\n<div class=\"scroll\">",
	      fp);
	kx__chart_heatmap(fp, "Programme by SDG heatmap", rows, (size_t)np,
			  sdgs, 17, values);
	fputs("</div>\n<h3 style=\"margin-top:14px\">Goals and their "
	      "targets</h3>\n<p class=\"note\">Open a goal to see its "
	      "targets (kx.sdg_target_progress).</p>\n<div class=\"sdgs\">\n",
	      fp);
	for (int g = 1; g <= 17; g++) {
		long long tagged = 0, partners = 0;
		for (int r = 0; r < PQntuples(goals); r++)
			if (num(goals, r, 0) == g) {
				tagged = num(goals, r, 1);
				partners = num(goals, r, 2);
			}
		fprintf(fp,
			"<details data-goal=\"%d\"%s><summary><span "
			"class=\"tile\" style=\"background:%s\">%d</span>"
			"<span>%s</span><span class=\"sum\" "
			"data-goal-tagged=\"%lld\">%s tagged \xc2\xb7 %s "
			"partners</span></summary>",
			g, tagged ? "" : " class=\"none\"", sdgs[g - 1].colour,
			g, strchr(sdgs[g - 1].label, ' ') + 1, tagged,
			kx__html_int(a, sizeof(a), tagged),
			kx__html_int(b, sizeof(b), partners));
		target_table(fp, targets, g);
		fputs("</details>\n", fp);
	}
	fputs("</div>\n</section>\n", fp);
out:
	free(rows);
	free(values);
}

/* How many months month ym ("YYYY-MM") comes after y0-m0. */
static int
month_index(int y0, int m0, const char *ym)
{
	int y = atoi(ym), m = atoi(ym + 5);

	return (y - y0) * 12 + (m - m0);
}

static void
section_trends(FILE *fp, struct page *pg)
{
	static const char *const measures[] = {"visits_held", "participants",
					       "pairings_matched",
					       "transfers_replicated"};
	/* The columns of Q_MONTHLY that hold the measures above. */
	static const int columns[] = {3, 4, 2, 5};
	static const char *const titles[] = {"Visits held", "Participants",
					     "Pairings matched",
					     "Transfers replicated"};
	static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr",
						  "May", "Jun", "Jul", "Aug",
						  "Sep", "Oct", "Nov", "Dec"};
	PGresult *res = pg->res[Q_MONTHLY], *prog = pg->res[Q_PROGRAMMES];
	int n = PQntuples(res), np = PQntuples(prog), y0, m0, nx;
	struct kx_chart_series *series = NULL;
	long long *values = NULL;
	char(*xkeys)[16] = NULL;
	char(*xlabels)[16] = NULL;
	const char **kp = NULL, **lp = NULL;

	fputs("<section id=\"trends\">\n<h2>Monthly trends</h2>\n"
	      "<p class=\"note\">History, not current state: each entity "
	      "counts in the month (UTC) it first entered the state, under "
	      "its current programme (kx.monthly_activity).</p>\n",
	      fp);
	if (!n) {
		fputs("<p class=\"note\" data-empty=\"trends\">No activity "
		      "recorded yet.</p>\n</section>\n",
		      fp);
		return;
	}
	y0 = atoi(PQgetvalue(res, 0, 0));
	m0 = atoi(PQgetvalue(res, 0, 0) + 5);
	nx = month_index(y0, m0, PQgetvalue(res, n - 1, 0)) + 1;
	series = calloc((size_t)np + 1, sizeof(*series));
	values = calloc((size_t)nx * (size_t)(np + 1), sizeof(*values));
	xkeys = calloc((size_t)nx, sizeof(*xkeys));
	xlabels = calloc((size_t)nx, sizeof(*xlabels));
	kp = calloc((size_t)nx, sizeof(*kp));
	lp = calloc((size_t)nx, sizeof(*lp));
	if (!series || !values || !xkeys || !xlabels || !kp || !lp)
		goto out;
	for (int p = 0; p < np; p++) {
		const char *name = PQgetvalue(prog, p, 0);
		series[p] = (struct kx_chart_series){name, name,
						     programme_colour(name)};
	}
	/* Every month is labelled on a short axis; on a long one only
	 * January (with its year), so labels never overlap. */
	for (int x = 0; x < nx; x++) {
		int y = y0 + (m0 - 1 + x) / 12, m = (m0 - 1 + x) % 12 + 1;
		snprintf(xkeys[x], sizeof(xkeys[x]), "%04d-%02d", y % 10000, m);
		kp[x] = xkeys[x];
		lp[x] = NULL;
		if (nx <= 14) {
			snprintf(xlabels[x], sizeof(xlabels[x]), "%s %02d",
				 month_names[m - 1], y % 100);
			lp[x] = xlabels[x];
		} else if (m == 1) {
			snprintf(xlabels[x], sizeof(xlabels[x]), "%d", y);
			lp[x] = xlabels[x];
		}
	}
	fputs("<div class=\"legend\">", fp);
	for (int p = 0; p < np; p++) {
		fputs("<span><i style=\"background:", fp);
		kx__html_esc(fp, series[p].colour);
		fputs("\"></i>", fp);
		kx__html_esc(fp, series[p].label);
		fputs("</span>", fp);
	}
	fputs("</div>\n<div class=\"twocol\">\n", fp);
	for (size_t k = 0; k < sizeof(measures) / sizeof(*measures); k++) {
		memset(values, 0,
		       (size_t)nx * (size_t)(np + 1) * sizeof(*values));
		for (int r = 0; r < n; r++) {
			int x = month_index(y0, m0, PQgetvalue(res, r, 0));
			for (int p = 0; p < np; p++)
				if (x >= 0 && x < nx &&
				    !strcmp(PQgetvalue(res, r, 1),
					    series[p].key))
					values[x * np + p] +=
						num(res, r, columns[k]);
		}
		fprintf(fp,
			"<div data-chart=\"%s\"><h3>%s</h3>"
			"<div class=\"scroll\">",
			measures[k], titles[k]);
		kx__chart_columns(fp, measures[k], titles[k], kp, lp,
				  (size_t)nx, series, (size_t)np, values);
		fputs("</div></div>\n", fp);
	}
	fputs("</div>\n</section>\n", fp);
out:
	free(series);
	free(values);
	free(xkeys);
	free(xlabels);
	free(kp);
	free(lp);
}

static void
section_targets(FILE *fp, PGresult *res)
{
	int n = PQntuples(res);
	struct kx_chart_bar *bars = calloc((size_t)n + 1, sizeof(*bars));
	char(*keys)[160] = calloc((size_t)n + 1, sizeof(*keys));
	char(*notes)[96] = calloc((size_t)n + 1, sizeof(*notes));
	char(*labels)[64] = calloc((size_t)n + 1, sizeof(*labels));
	char a[32], b[32];

	fputs("<section id=\"targets\">\n<h2>Targets</h2>\n"
	      "<p class=\"note\">What each programme has achieved against "
	      "its targets (kx.target_progress, loaded with "
	      "<code>kx-admin targets load</code>).</p>\n",
	      fp);
	if (!n || !bars || !keys || !notes || !labels) {
		fputs("<p class=\"note\" data-empty=\"targets\">No targets "
		      "loaded.</p>\n",
		      fp);
		goto out;
	}
	fputs("<div class=\"grid wide\">\n", fp);
	/* Rows come ordered by programme: one card per run of rows. */
	for (int start = 0, end; start < n; start = end) {
		const char *p = PQgetvalue(res, start, 0);
		char title[96];

		for (end = start;
		     end < n && !strcmp(PQgetvalue(res, end, 0), p); end++) {
			const char *measure = PQgetvalue(res, end, 1);
			bool pct = !PQgetisnull(res, end, 4);
			size_t i;

			snprintf(keys[end], sizeof(keys[end]), "target:%s:%s",
				 p, measure);
			for (i = 0; measure[i] && i + 1 < sizeof(labels[end]);
			     i++)
				labels[end][i] =
					measure[i] == '_' ? ' ' : measure[i];
			labels[end][i] = '\0';
			snprintf(notes[end], sizeof(notes[end]),
				 "%s / %s%s%s%s",
				 kx__html_int(a, sizeof(a), num(res, end, 3)),
				 kx__html_int(b, sizeof(b), num(res, end, 2)),
				 pct ? " (" : "",
				 pct ? PQgetvalue(res, end, 4) : "",
				 pct ? "%)" : "");
			bars[end] = (struct kx_chart_bar){
				.label = labels[end],
				.key = keys[end],
				.value = num(res, end, 3),
				.target = num(res, end, 2),
				.note = notes[end],
				.colour = programme_colour(p),
			};
		}
		snprintf(title, sizeof(title), "%s targets", p);
		fputs("<div class=\"card\" style=\"--pc:", fp);
		kx__html_esc(fp, programme_colour(p));
		fputs("\"><h3>", fp);
		kx__html_esc(fp, p);
		fputs("</h3>", fp);
		kx__chart_hbars(fp, title, bars + start, (size_t)(end - start),
				150, 150);
		fputs("</div>\n", fp);
	}
	fputs("</div>\n", fp);
out:
	fputs("</section>\n", fp);
	free(bars);
	free(keys);
	free(notes);
	free(labels);
}

static void
section_partners(FILE *fp, PGresult *res)
{
	char a[32];

	fputs("<section id=\"partners\">\n<h2>Most active partners</h2>\n"
	      "<p class=\"note\">Parties named by the most current entities, "
	      "as first spelled.</p>\n<div class=\"scroll\"><table>"
	      "<thead><tr><th>party</th><th>country</th><th>kind</th>"
	      "<th>programmes</th><th class=\"n\">entities</th></tr></thead>"
	      "<tbody>",
	      fp);
	for (int r = 0; r < PQntuples(res); r++) {
		fputs("<tr data-party><td>", fp);
		kx__html_esc(fp, PQgetvalue(res, r, 0));
		fputs("</td><td>", fp);
		kx__html_esc(fp, PQgetvalue(res, r, 1));
		fputs("</td><td>", fp);
		words(fp, PQgetvalue(res, r, 2));
		fputs("</td><td>", fp);
		kx__html_esc(fp, PQgetvalue(res, r, 4));
		fprintf(fp, "</td><td class=\"n\">%s</td></tr>",
			kx__html_int(a, sizeof(a), num(res, r, 3)));
	}
	fputs("</tbody></table></div>\n</section>\n", fp);
}

static void
section_quality(FILE *fp, struct page *pg)
{
	PGresult *rej = pg->res[Q_REJECTED], *unt = pg->res[Q_UNTAGGED];
	PGresult *nw = pg->res[Q_NEWEST], *off = pg->res[Q_OFFSETS];
	long long untagged = 0, rejected = num(nw, 0, 3);
	char a[32], b[32];

	for (int r = 0; r < PQntuples(unt); r++)
		untagged += num(unt, r, 1);
	fputs("<section id=\"quality\">\n<h2>Data quality</h2>\n"
	      "<div class=\"stat\">",
	      fp);
	fprintf(fp,
		"<div><b data-quality=\"rejected\" data-value=\"%lld\">%s</b>"
		"<span>rejected messages</span></div>",
		rejected, kx__html_int(a, sizeof(a), rejected));
	fprintf(fp,
		"<div><b data-quality=\"untagged\" data-value=\"%lld\">%s</b>"
		"<span>entities with no SDG tag</span></div>",
		untagged, kx__html_int(a, sizeof(a), untagged));
	fprintf(fp,
		"<div><b data-quality=\"events\" data-value=\"%lld\">%s</b>"
		"<span>events stored</span></div>",
		num(nw, 0, 2), kx__html_int(a, sizeof(a), num(nw, 0, 2)));
	fputs("<div><b data-quality=\"newest\">", fp);
	kx__html_esc(fp, PQgetisnull(nw, 0, 0) ? "n/a" : PQgetvalue(nw, 0, 0));
	fputs("</b><span>newest event (occurred)</span></div>", fp);
	fputs("<div><b data-quality=\"received\">", fp);
	kx__html_esc(fp, PQgetisnull(nw, 0, 1) ? "n/a" : PQgetvalue(nw, 0, 1));
	fputs("</b><span>newest event (received)</span></div>", fp);
	fputs("<div><b data-quality=\"lag\">n/a</b><span>consumer lag (not "
	      "in the database: see kx-aggregate /metrics)</span></div>",
	      fp);
	fputs("</div>\n<div class=\"twocol\">\n<div><h3>Rejected messages "
	      "by reason</h3>",
	      fp);
	if (!PQntuples(rej)) {
		fputs("<p class=\"note\">None: the consumer accepted every "
		      "message.</p>",
		      fp);
	} else {
		fputs("<table><thead><tr><th>reason</th><th class=\"n\">"
		      "messages</th><th>newest</th></tr></thead><tbody>",
		      fp);
		for (int r = 0; r < PQntuples(rej); r++) {
			fputs("<tr data-reject><td>", fp);
			kx__html_esc(fp, PQgetvalue(rej, r, 0));
			fprintf(fp,
				"</td><td class=\"n\" data-value=\"%lld\">%s"
				"</td><td>",
				num(rej, r, 1),
				kx__html_int(a, sizeof(a), num(rej, r, 1)));
			kx__html_esc(fp, PQgetvalue(rej, r, 2));
			fputs("</td></tr>", fp);
		}
		fputs("</tbody></table>", fp);
	}
	fputs("</div>\n<div><h3>Entities with no SDG tag</h3><table><thead>"
	      "<tr><th>entity</th><th class=\"n\">untagged</th>"
	      "<th class=\"n\">of</th></tr></thead><tbody>",
	      fp);
	for (int r = 0; r < PQntuples(unt); r++) {
		fputs("<tr><td>", fp);
		kx__html_esc(fp, PQgetvalue(unt, r, 0));
		fputs("</td><td class=\"n\" data-untagged=\"", fp);
		kx__html_esc(fp, PQgetvalue(unt, r, 0));
		fprintf(fp,
			"\" data-value=\"%lld\">%s</td><td class=\"n\">%s"
			"</td></tr>",
			num(unt, r, 1),
			kx__html_int(a, sizeof(a), num(unt, r, 1)),
			kx__html_int(b, sizeof(b), num(unt, r, 2)));
	}
	fputs("</tbody></table></div>\n</div>\n", fp);
	fprintf(fp,
		"<details data-offsets=\"%d\"><summary>Consumer offsets: %d "
		"partition%s (kx.consumer_offsets)</summary>",
		PQntuples(off), PQntuples(off), PQntuples(off) == 1 ? "" : "s");
	fputs("<div class=\"scroll\"><table><thead><tr><th>group</th>"
	      "<th>topic</th><th class=\"n\">partition</th>"
	      "<th class=\"n\">next offset</th><th>updated</th></tr></thead>"
	      "<tbody>",
	      fp);
	for (int r = 0; r < PQntuples(off); r++) {
		fputs("<tr><td>", fp);
		kx__html_esc(fp, PQgetvalue(off, r, 0));
		fputs("</td><td>", fp);
		kx__html_esc(fp, PQgetvalue(off, r, 1));
		fprintf(fp,
			"</td><td class=\"n\">%lld</td><td class=\"n\">%s"
			"</td><td>",
			num(off, r, 2),
			kx__html_int(a, sizeof(a), num(off, r, 3)));
		kx__html_esc(fp, PQgetvalue(off, r, 4));
		fputs("</td></tr>", fp);
	}
	fputs("</tbody></table></div></details>\n</section>\n", fp);
}

static void
page_release(struct page *pg)
{
	for (int q = 0; q < Q_N; q++) {
		PQclear(pg->res[q]);
		pg->res[q] = NULL;
	}
}

static int
page_load(struct page *pg, PGconn *conn, char *errbuf, size_t errlen)
{
	PGresult *res;
	int rc = -1;

	res = PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		kxdb_error(conn, "cannot start a read-only transaction", errbuf,
			   errlen);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	for (int q = 0; q < Q_N; q++) {
		pg->res[q] = PQexec(conn, queries[q]);
		if (PQresultStatus(pg->res[q]) != PGRES_TUPLES_OK) {
			kxdb_error(conn, "cannot read the dashboard views",
				   errbuf, errlen);
			goto out;
		}
	}
	rc = 0;
out:
	PQclear(PQexec(conn, "ROLLBACK"));
	if (rc)
		page_release(pg);
	return rc;
}

int
kx__html_render(PGconn *conn, FILE *fp, char *errbuf, size_t errlen)
{
	struct page pg = {0};
	char generated[64];
	time_t now = time(NULL);
	struct tm tm;
	bool empty;

	if (page_load(&pg, conn, errbuf, errlen))
		return -1;
	gmtime_r(&now, &tm);
	strftime(generated, sizeof(generated), "%Y-%m-%d %H:%M UTC", &tm);
	empty = PQntuples(pg.res[Q_PROGRAMMES]) == 0;
	head(fp, generated, empty);
	if (empty) {
		fputs("<section class=\"empty\" data-empty=\"page\">\n"
		      "<h2>No data yet</h2>\n<p class=\"note\">The database "
		      "holds no pairing, visit, practice or transfer. Send "
		      "partner events with <code>kx-produce</code> and run "
		      "<code>kx-aggregate</code>; this page then shows each "
		      "programme's progress.</p>\n</section>\n",
		      fp);
		if (PQntuples(pg.res[Q_TARGETS]))
			section_targets(fp, pg.res[Q_TARGETS]);
	} else {
		section_programmes(fp, pg.res[Q_PROGRAMMES]);
		section_funnel(fp, pg.res[Q_FUNNEL]);
		section_sdgs(fp, &pg);
		section_trends(fp, &pg);
		section_targets(fp, pg.res[Q_TARGETS]);
		section_partners(fp, pg.res[Q_PARTNERS]);
	}
	section_quality(fp, &pg);
	fputs("</main>\n<footer>kx-report " KX_VERSION
	      " \xc2\xb7 every number comes from the kx views of one "
	      "database snapshot</footer>\n</body>\n</html>\n",
	      fp);
	page_release(&pg);
	return 0;
}
