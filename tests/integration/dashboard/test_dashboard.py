#!/usr/bin/env python3
"""The HTML dashboard in a real browser.

Builds a known dataset (dashboard.jsonl: two programmes, a party named
<script>alert(1)</script>, plus one poison message that the consumer must
reject), writes the page with `kx-report --format html`, opens it in
headless Chromium, and checks what a person would see: the numbers on the
page against the views (read with psql), the number of SVG bars and heatmap
cells, that the <script> party name is text and no script element exists,
and that the page makes no network request. It also checks the "no data
yet" page of a fresh database, and saves screenshots (desktop and phone
width) in the build folder given as the first argument.

Run through with-stack.sh (ctest does); needs KX_BROKERS, KX_DB and
KX_BIN_DIR. Installs Debian's chromium when missing and run as root. The
last line is 'N passed, N failed'.
"""
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
BIN = os.environ.get("KX_BIN_DIR") or os.path.join(HERE, "../../../build/bin")
NAME = "dashboard"
SCRIPT_NAME = "<script>alert(1)</script>"

passed = 0
failed = 0


def check(what, expected, actual):
    global passed, failed
    if expected == actual:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"not ok - {what}")
        print(f"  expected: {str(expected)[:2000]}")
        print(f"  actual:   {str(actual)[:2000]}")
    sys.stdout.flush()


def die(msg):
    print(f"test: {msg}", file=sys.stderr)
    print(f"{passed} passed, {failed + 1} failed")
    sys.exit(1)


def run(cmd, env=None, timeout=300, check_rc=True, stdin=None):
    p = subprocess.run(cmd, env=env, timeout=timeout, input=stdin,
                       capture_output=True)
    if check_rc and p.returncode != 0:
        die(f"{' '.join(cmd)} exited {p.returncode}: "
            f"{p.stderr.decode(errors='replace')[-2000:]}")
    return p


def conninfo_for(base, db):
    parts = [p for p in base.split() if not p.startswith("dbname=")]
    return " ".join(parts + [f"dbname={db}"])


def psql(env, sql):
    """Rows of a query as lists of strings."""
    p = run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v",
             "ON_ERROR_STOP=1", env["KX_DB"], "-c", sql], env=env)
    out = p.stdout.decode()
    return [line.split("\t") for line in out.splitlines() if line != ""]


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        p = subprocess.run(["apt-get", "install", "-y", "chromium"],
                           env=env, capture_output=True, timeout=1200)
        if p.returncode != 0:
            subprocess.run(["apt-get", "update"], env=env,
                           capture_output=True, timeout=600)
            subprocess.run(["apt-get", "install", "-y", "chromium"],
                           env=env, capture_output=True, timeout=1200)
        path = shutil.which("chromium")
        if path:
            return path
    die("chromium not found: install Debian's package 'chromium'")


def chromium(exe, url, *extra, timeout=120):
    """Runs headless Chromium with a fresh profile and no background
    networking; returns the completed process."""
    profile = tempfile.mkdtemp(prefix="kx-dash-chromium.")
    try:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic",
               "--disable-default-apps", "--disable-extensions",
               "--hide-scrollbars", f"--user-data-dir={profile}", *extra, url]
        return subprocess.run(cmd, capture_output=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class Dom(html.parser.HTMLParser):
    """Collects the elements of a page: tag, attributes and own text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.stack = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(el)
        if tag not in ("meta", "link", "br", "hr", "img", "input", "wbr"):
            self.stack.append(el)

    def handle_startendtag(self, tag, attrs):
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": ""})

    def handle_endtag(self, tag):
        if not any(el["tag"] == tag for el in self.stack):
            return
        while self.stack:
            el = self.stack.pop()
            if el["tag"] == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        if self.stack:
            self.stack[-1]["text"] += data

    def having(self, attr):
        return [e for e in self.elements if attr in e["attrs"]]


def netlog_urls(path):
    """The URLs that a page asked for, from Chromium's net log: requests
    whose initiator is an origin. Chromium's own background requests (its
    updater, its clock) say 'not an origin' and are left out. A file://
    page is read outside the network stack, so a silent page logs none."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    log = None
    # A log that Chromium did not finish is cut after an event: close it.
    for tail in ("", "]}", "\n]}"):
        try:
            log = json.loads(text.rstrip().rstrip(",") + tail if tail
                             else text)
            break
        except ValueError:
            continue
    if log is None:
        return None
    urls = set()
    for ev in log.get("events", []):
        params = ev.get("params") or {}
        if "url" in params and "initiator" in params and \
                params["initiator"] != "not an origin":
            urls.add(params["url"])
    return urls


def page_requests(exe, url, netlog):
    """Loads url in Chromium with a net log; returns (process, URLs the
    page asked for or None when the log is unreadable)."""
    if os.path.exists(netlog):
        os.unlink(netlog)
    c = chromium(exe, url, "--dump-dom", f"--log-net-log={netlog}",
                 "--net-log-capture-mode=Everything")
    return c, netlog_urls(netlog)


def setup(env):
    base = env["KX_DB"]
    db = f"kx_{NAME}"
    run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", base,
         "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)",
         "-c", f"CREATE DATABASE {db}"], env=env)
    env["KX_DB"] = conninfo_for(base, db)
    env["KX_TOPIC_PREFIX"] = f"{NAME}.{os.getpid()}."
    env["KX_GROUP"] = f"{NAME}-{os.getpid()}"
    run([f"{BIN}/kx-admin", "migrate"], env=env)
    run([f"{BIN}/kx-admin", "topics", "create"], env=env)
    return base, db


def int_text(s):
    return int(s.replace(",", "").strip())


def main():
    for var in ("KX_BROKERS", "KX_DB"):
        if not os.environ.get(var):
            die(f"{var} must be set (run through with-stack.sh)")
    env = dict(os.environ)
    os.makedirs(OUT_DIR, exist_ok=True)
    exe = find_chromium()
    base, db = setup(env)
    report = [f"{BIN}/kx-report", "--format", "html", "--out"]

    # A fresh database: a clear "no data yet" page, not a crash.
    empty = os.path.join(OUT_DIR, "dashboard-empty.html")
    p = run(report + [empty], env=env, check_rc=False)
    check("kx-report --format html on an empty database exits 0", 0,
          p.returncode)
    dom = Dom()
    dom.feed(chromium(exe, "file://" + empty, "--dump-dom").stdout.decode())
    check("the empty page says 'No data yet'", True,
          "No data yet" in "".join(dom.text))
    check("the empty page has no charts", 0,
          len(dom.having("data-bar")) + len(dom.having("data-cell")))

    # The dataset, one poison message, the consumer, the targets.
    p = run([f"{BIN}/kx-produce", os.path.join(HERE, "dashboard.jsonl")],
            env=env)
    check("kx-produce sends the dataset",
          "read 18, sent 18, rejected 0, failed 0",
          p.stderr.decode().strip().splitlines()[-1])
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if not kcat:
        die("kcat not found (deploy/local/kx-stack up installs it)")
    run([kcat, "-P", "-b", env["KX_BROKERS"], "-t",
         env["KX_TOPIC_PREFIX"] + "pairings", "-k", "poison"],
        env=env, stdin=b"<script>alert(2)</script> is not Avro")
    run([f"{BIN}/kx-aggregate", "--until-caught-up"], env=env, timeout=300)
    run([f"{BIN}/kx-admin", "targets", "load",
         os.path.join(HERE, "targets.csv")], env=env)

    page = os.path.join(OUT_DIR, "dashboard.html")
    run(report + [page], env=env)
    with open(page, encoding="utf-8") as f:
        raw = f.read()

    # Self-contained: nothing that could load from anywhere.
    low = raw.lower()
    check("the page names no URL", [],
          [w for w in ("http:", "https:", "ftp:", "ws://", "wss://", "=\"//")
           if w in low])
    check("the page has no src= attribute", False, " src=" in low)
    check("the page has no url(, @import or <link>", [],
          [w for w in ("url(", "@import", "<link") if w in low])
    hrefs = [h.split('"')[0] for h in low.split('href="')[1:]]
    check("every link is a fragment of the page", [],
          [h for h in hrefs if not h.startswith("#")])

    # The net log sees a page's requests: a canary page that loads an
    # image from 127.0.0.1:9 (nothing listens there) must show it.
    canary = os.path.join(OUT_DIR, "canary.html")
    with open(canary, "w") as f:
        f.write('<!DOCTYPE html><p>canary</p>'
                '<img src="http://127.0.0.1:9/canary.png">')
    _, urls = page_requests(exe, "file://" + canary,
                            os.path.join(OUT_DIR, "canary-netlog.json"))
    check("the net log catches a page's request (canary)", True,
          urls is not None and "http://127.0.0.1:9/canary.png" in urls)

    # The page as Chromium builds it, with a net log of every request.
    c, urls = page_requests(exe, "file://" + page,
                            os.path.join(OUT_DIR, "dashboard-netlog.json"))
    check("chromium renders the page", 0, c.returncode)
    dom_text = c.stdout.decode()
    with open(os.path.join(OUT_DIR, "dashboard-dom.html"), "w",
              encoding="utf-8") as f:
        f.write(dom_text)
    dom = Dom()
    dom.feed(dom_text)
    check("the page requests nothing (net log)", set(), urls)

    # No injected script, and the party name shows as text.
    check("the page has no script element", 0,
          sum(1 for e in dom.elements if e["tag"] == "script"))
    check("the <script> party name is shown as text", True,
          any(e["text"] == SCRIPT_NAME for e in dom.elements
              if e["tag"] == "td"))
    check("the poison message's text is escaped", False,
          "<script>alert(2)" in raw)

    # KPIs against kx.programme_progress.
    keys = ["partners", "countries", "pairings_active",
            "action_plans_adopted", "visits_held", "participants",
            "transfers_replicated", "practices_documented"]
    rows = psql(env, "SELECT programme, " + ", ".join(keys) +
                " FROM kx.programme_progress ORDER BY programme")
    want = {f"{r[0]}:{k}": int(r[i + 1]) for r in rows
            for i, k in enumerate(keys)}
    kpis = {e["attrs"]["data-kpi"]: e for e in dom.having("data-kpi")}
    check("a KPI for each programme and measure", sorted(want),
          sorted(kpis))
    check("the KPI numbers shown are the view's", want,
          {k: int_text(e["text"]) for k, e in kpis.items()})
    check("known numbers: IURC partners, countries, active pairings, "
          "visits held, participants",
          [5, 4, 2, 2, 70],
          [want.get("IURC:" + k) for k in ("partners", "countries",
                                           "pairings_active", "visits_held",
                                           "participants")])
    check("known numbers: URBELAC partners, visits held, participants",
          [2, 1, 15], [want.get("URBELAC:" + k) for k in
                       ("partners", "visits_held", "participants")])
    programmes = [r[0] for r in rows]

    bars = {e["attrs"]["data-bar"]: e for e in dom.having("data-bar")}

    # The funnel: seven bars per programme.
    funnel = psql(env, "SELECT programme, state, pairings "
                  "FROM kx.pairing_funnel")
    got = {k: int(e["attrs"]["data-value"]) for k, e in bars.items()
           if k.startswith("funnel:")}
    check("seven funnel bars per programme", 7 * len(programmes), len(got))
    check("the funnel bars are kx.pairing_funnel",
          {f"funnel:{r[0]}:{r[1]}": int(r[2]) for r in funnel}, got)

    # The heatmap: 17 cells per programme, 0 where the view has no row.
    cells = {e["attrs"]["data-cell"]: int(e["attrs"]["data-value"])
             for e in dom.having("data-cell")}
    check("17 heatmap cells per programme", 17 * len(programmes), len(cells))
    sdg = psql(env, "SELECT programme, sdg_goal, pairings_proposed + "
               "pairings_active + pairings_completed + pairings_suspended + "
               "pairings_withdrawn + visits_planned + visits_held + "
               "visits_cancelled + practices_documented + "
               "transfers_in_progress + transfers_replicated + "
               "transfers_abandoned FROM kx.programme_sdg_progress")
    want_cells = {f"{p}:{g}": 0 for p in programmes for g in range(1, 18)}
    want_cells.update({f"{r[0]}:{r[1]}": int(r[2]) for r in sdg})
    check("the heatmap cells are kx.programme_sdg_progress", want_cells,
          cells)
    check("known cells: IURC x 11, IURC x 7, URBELAC x 6, URBELAC x 13",
          [5, 1, 2, 1], [cells.get(k) for k in
                         ("IURC:11", "IURC:7", "URBELAC:6", "URBELAC:13")])
    goals = dom.having("data-goal")
    check("a drill-down for each of the 17 goals",
          [str(g) for g in range(1, 18)],
          [e["attrs"]["data-goal"] for e in goals])
    check("the goals are <details> elements", {"details"},
          {e["tag"] for e in goals})
    targets = psql(env, "SELECT sdg_target FROM kx.sdg_target_progress "
                   "ORDER BY sdg_target")
    check("the drill-downs list kx.sdg_target_progress",
          sorted(r[0] for r in targets),
          sorted(e["attrs"]["data-target"] for e in dom.having("data-target")
                 if e["tag"] == "tr"))
    check("known targets", ["11.6", "6.1", "7.a"],
          sorted(r[0] for r in targets))

    # Monthly trends: the segments of each chart add up to the view.
    monthly = psql(env, "SELECT to_char(month, 'YYYY-MM'), programme, "
                   "pairings_matched, visits_held, participants, "
                   "transfers_replicated FROM kx.monthly_activity")
    for i, m in enumerate(["pairings_matched", "visits_held",
                           "participants", "transfers_replicated"]):
        want_m = {f"{m}:{r[0]}:{r[1]}": int(r[2 + i]) for r in monthly
                  if int(r[2 + i])}
        got_m = {k: int(e["attrs"]["data-value"]) for k, e in bars.items()
                 if k.startswith(m + ":")}
        check(f"the {m} chart is kx.monthly_activity", want_m, got_m)
    check("known months: visits held 2024-02 URBELAC, 2024-03 and 2024-04 "
          "IURC; participants 2024-04 IURC",
          [1, 1, 1, 30],
          [int(bars[k]["attrs"]["data-value"]) if k in bars else None
           for k in ("visits_held:2024-02:URBELAC", "visits_held:2024-03:IURC",
                     "visits_held:2024-04:IURC", "participants:2024-04:IURC")])

    # Targets against kx.target_progress.
    tp = psql(env, "SELECT programme, measure, target, achieved, "
              "coalesce(pct::text, '') FROM kx.target_progress")
    got_t = {k: (int(e["attrs"]["data-target"]),
                 int(e["attrs"]["data-value"]))
             for k, e in bars.items() if k.startswith("target:")}
    check("the target bars are kx.target_progress",
          {f"target:{r[0]}:{r[1]}": (int(r[2]), int(r[3])) for r in tp},
          got_t)
    check("the IURC participants target shows 70 / 50 (140.0%)", True,
          "70 / 50 (140.0%)" in "".join(dom.text))

    # Data quality.
    q = {e["attrs"]["data-quality"]: e for e in dom.having("data-quality")}
    rejected = psql(env, "SELECT count(*) FROM kx.rejected_events")[0][0]
    check("rejected messages shown", int(rejected),
          int(q["rejected"]["attrs"]["data-value"]))
    check("one rejected message", "1", rejected)
    check("a row per rejection reason",
          len(psql(env, "SELECT DISTINCT reason FROM kx.rejected_events")),
          len(dom.having("data-reject")))
    untagged = {e["attrs"]["data-untagged"]: int(e["attrs"]["data-value"])
                for e in dom.having("data-untagged")}
    check("untagged entities shown",
          {"pairings": 1, "visits": 1, "practices": 0, "transfers": 0},
          untagged)
    newest = psql(env, "SELECT to_char(max(occurred_at) AT TIME ZONE 'UTC', "
                  "'YYYY-MM-DD HH24:MI \"UTC\"') FROM kx.events")[0][0]
    check("the newest event time", newest, q["newest"]["text"])
    check("consumer lag is n/a", "n/a", q["lag"]["text"])

    # Screenshots, for people: desktop and phone width.
    for name, size in (("dashboard.png", "1280,2000"),
                       ("dashboard-full.png", "1280,5200"),
                       ("dashboard-phone.png", "390,2400")):
        path = os.path.join(OUT_DIR, name)
        if os.path.exists(path):
            os.unlink(path)
        chromium(exe, "file://" + page, f"--screenshot={path}",
                 f"--window-size={size}")
        check(f"screenshot {name}", True,
              os.path.exists(path) and os.path.getsize(path) > 10000)
    print(f"screenshots and pages in {OUT_DIR}")

    if failed == 0:
        run(["psql", "-X", "-q", base, "-c",
             f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], env=env,
            check_rc=False)
        run([f"{BIN}/kx-admin", "topics", "delete", "--yes"], env=env,
            check_rc=False)


if __name__ == "__main__":
    try:
        main()
    except subprocess.TimeoutExpired as e:
        die(f"timed out: {' '.join(map(str, e.cmd))}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)
