#!/usr/bin/env python3
"""kx-aggregate against the real stack: every view of CONTRACT §3, with
hand-written scenarios whose expected numbers are worked out below, and
kx-admin verify after every scenario (and its failure and repair on a
corrupted aggregate row).

Usage (through with-stack.sh): test_views.py [SCENARIO...]
"""

import os
import pty
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aggtest import (BIN, MEASURES, P_BEIJING, P_KYIV, P_LISBOA,  # noqa: E402
                     P_SAO_PAULO, Suite, eid, measures, pairing, party,
                     practice, transfer, visit)

STATES = ["proposed", "matched", "agreement_signed", "action_plan_adopted",
          "completed", "suspended", "withdrawn"]


def funnel_of(**kw):
    return {s: str(kw.get(s, 0)) for s in STATES}


def monthly(sc):
    return sc.q("SELECT month, programme, pairings_matched, visits_held, "
                "participants, transfers_replicated FROM kx.monthly_activity "
                "ORDER BY month, programme")


def pairing_walk(suite):
    """One pairing through all seven states, the views after each step;
    then several pairings in different states and a second programme."""
    sc = suite.scenario("pairing_walk")
    steps = [  # state, occurred_at, pilot, expected measures
        ("proposed", "2025-01-10T08:00:00Z", None, dict(pairings_proposed=1)),
        ("matched", "2025-02-01T08:00:00Z", 0, dict(pairings_active=1)),
        ("agreement_signed", "2025-03-01T08:00:00Z", 1,
         dict(pairings_active=1, pilot_projects=1)),
        ("action_plan_adopted", "2025-04-01T08:00:00Z", 2,
         dict(pairings_active=1, action_plans_adopted=1, pilot_projects=2)),
        ("completed", "2025-05-01T08:00:00Z", 3,
         dict(pairings_completed=1, action_plans_adopted=1, pilot_projects=3)),
        ("suspended", "2025-06-01T08:00:00Z", 3,
         dict(pairings_suspended=1, pilot_projects=3)),
        ("withdrawn", "2025-07-01T08:00:00Z", 3,
         dict(pairings_withdrawn=1, pilot_projects=3)),
    ]
    for state, at, pilot, exp in steps:
        sc.produce(pairing("P1", state, at, pilot=pilot))
        sc.aggregate()
        sc.res.eq("walk %s: programme_progress IURC" % state,
                  measures(countries=2, partners=2, **exp),
                  sc.progress("IURC", MEASURES))
        sc.res.eq("walk %s: pairing_funnel IURC" % state,
                  funnel_of(**{state: 1}), sc.funnel("IURC"))
        sc.res.eq("walk %s: last_event_at" % state,
                  at.replace("T", " ").replace("Z", "+00"),
                  sc.q1("SELECT last_event_at FROM kx.programme_progress"))
        sc.check_verify("walk %s" % state)
    sc.res.eq("walk: sdg_progress goal 11 follows the pairing",
              measures(countries=2, partners=2, pairings_withdrawn=1,
                       pilot_projects=3),
              sc.q("SELECT %s FROM kx.sdg_progress WHERE sdg_goal = 11"
                   % ", ".join(MEASURES))[0])

    # Six more pairings, one in each other state, and one in IUC.
    m2 = [P_LISBOA, P_KYIV]
    sc.produce(
        pairing("P2", "proposed", "2025-08-01T08:00:00Z", members=m2),
        pairing("P3", "matched", "2025-08-02T08:00:00Z", members=m2),
        pairing("P4", "agreement_signed", "2025-08-03T08:00:00Z", members=m2, pilot=2),
        pairing("P5", "action_plan_adopted", "2025-08-04T08:00:00Z", members=m2),
        pairing("P6", "completed", "2025-08-05T08:00:00Z", members=m2, pilot=5),
        pairing("P7", "suspended", "2025-08-06T08:00:00Z", members=m2),
        pairing("P8", "proposed", "2025-08-07T08:00:00Z", programme="IUC",
                members=[P_BEIJING, P_LISBOA]))
    sc.aggregate()
    sc.res.eq("several: pairing_funnel IURC has one pairing per state",
              funnel_of(**{s: 1 for s in STATES}), sc.funnel("IURC"))
    sc.res.eq("several: pairing_funnel IUC has all seven states, zeros included",
              funnel_of(proposed=1), sc.funnel("IUC"))
    sc.res.eq("several: programme_progress IURC",
              measures(pairings_proposed=1, pairings_active=3,
                       pairings_completed=1, pairings_suspended=1,
                       pairings_withdrawn=1, action_plans_adopted=2,
                       pilot_projects=10, countries=3, partners=3),
              sc.progress("IURC", MEASURES))
    sc.res.eq("several: programme_progress IUC",
              measures(pairings_proposed=1, countries=2, partners=2),
              sc.progress("IUC", MEASURES))
    sc.res.eq("several: one row per programme with entities",
              [("IUC",), ("IURC",)],
              sc.q("SELECT programme FROM kx.programme_progress ORDER BY 1"))
    sc.res.eq("several: funnel has 7 rows per programme", "14",
              sc.q1("SELECT count(*) FROM kx.pairing_funnel"))
    # Only events that carry 'matched' count in monthly_activity.
    sc.res.eq("several: monthly_activity",
              [("2025-02-01", "IURC", "1", "0", "0", "0"),
               ("2025-08-01", "IURC", "1", "0", "0", "0")], monthly(sc))
    sc.check_verify("several")


def visit_late_planned(suite):
    """planned, held, then a late 'planned' with an older occurred_at."""
    sc = suite.scenario("visit_late_planned")
    sc.produce(visit("V1", "planned", "2025-04-01T10:00:00Z"))
    sc.aggregate()
    sc.res.eq("V1 planned", measures(visits_planned=1, countries=2, partners=2),
              sc.progress("IURC", MEASURES))
    sc.produce(visit("V1", "held", "2025-05-01T10:00:00Z", participants=30),
               # V2: held, then an older planned in the same batch.
               visit("V2", "held", "2025-06-01T10:00:00Z", participants=10),
               visit("V2", "planned", "2025-05-20T10:00:00Z"))
    sc.aggregate()
    sc.res.eq("V1 held", measures(visits_held=2, participants=40,
                                  countries=2, partners=2),
              sc.progress("IURC", MEASURES))
    sc.produce(visit("V1", "planned", "2025-03-01T10:00:00Z"))
    sc.aggregate()
    sc.res.eq("late planned does not undo held",
              measures(visits_held=2, participants=40, countries=2, partners=2),
              sc.progress("IURC", MEASURES))
    sc.res.eq("late planned: entity state stays held",
              [("V1", "held", "30"), ("V2", "held", "10")],
              sc.q("SELECT visit_id, state, participants FROM kx.visits ORDER BY 1"))
    sc.res.eq("late planned is kept in the history", "5",
              sc.q1("SELECT count(*) FROM kx.events"))
    sc.res.eq("late planned: last_event_at unchanged", "2025-06-01 10:00:00+00",
              sc.q1("SELECT last_event_at FROM kx.programme_progress"))
    sc.res.eq("late planned: monthly_activity",
              [("2025-05-01", "IURC", "0", "1", "30", "0"),
               ("2025-06-01", "IURC", "0", "1", "10", "0")], monthly(sc))
    sc.check_verify("visit_late_planned")


def duplicates(suite):
    """The same event twice in one run, again in a second kx-produce run
    beside a new one, with its id in upper case, and with other content."""
    sc = suite.scenario("duplicates")
    v_held = visit("V1", "held", "2025-05-01T10:00:00Z", participants=25)
    p_matched = pairing("P1", "matched", "2025-02-01T10:00:00Z", pilot=2)
    sc.produce(v_held, v_held, p_matched)
    sc.aggregate()
    exp = measures(pairings_active=1, pilot_projects=2, visits_held=1,
                   participants=25, countries=2, partners=2)
    sc.res.eq("twice in one run counts once", exp, sc.progress("IURC", MEASURES))
    # A batch with events inserted by an earlier run and a new one: the
    # history insert finds the old ones in kx.events, not in memory.
    sc.produce(p_matched, v_held,
               visit("V2", "held", "2025-05-02T10:00:00Z", participants=5))
    sc.aggregate()
    exp = measures(pairings_active=1, pilot_projects=2, visits_held=2,
                   participants=30, countries=2, partners=2)
    sc.res.eq("again in a second kx-produce run counts once, the new one "
              "counts", exp, sc.progress("IURC", MEASURES))
    upper = dict(v_held, event_id=v_held["event_id"].upper())
    changed = dict(v_held, participants=99)
    sc.produce(upper, changed)
    sc.aggregate()
    sc.res.eq("upper-case event_id and changed content are the same event", exp,
              sc.progress("IURC", MEASURES))
    sc.res.eq("history holds each event once", "3",
              sc.q1("SELECT count(*) FROM kx.events"))
    sc.res.eq("duplicates: monthly_activity",
              [("2025-02-01", "IURC", "1", "0", "0", "0"),
               ("2025-05-01", "IURC", "0", "2", "30", "0")], monthly(sc))
    sc.res.eq("duplicates are not rejects", "0",
              sc.q1("SELECT count(*) FROM kx.rejected_events"))
    sc.check_verify("duplicates")


def retag(suite):
    """An entity re-tagged from SDG 11 to SDG 7: its counts move."""
    sc = suite.scenario("retag")
    sc.produce(
        pairing("P1", "matched", "2025-03-01T00:00:00Z", sdgs=["11"],
                members=[P_LISBOA, P_KYIV]),
        pairing("P2", "proposed", "2025-02-01T00:00:00Z", sdgs=["11", "7"],
                members=[P_LISBOA, P_SAO_PAULO]),
        pairing("P3", "proposed", "2025-01-15T00:00:00Z", sdgs=["11"],
                programme="URBELAC", members=[P_BEIJING, P_LISBOA]))
    sc.aggregate()
    cols = "sdg_goal, pairings_proposed, pairings_active, countries, partners, last_event_at"
    sc.res.eq("before: sdg_progress goals 7 and 11",
              [("7", "1", "0", "2", "2", "2025-02-01 00:00:00+00"),
               ("11", "2", "1", "4", "4", "2025-03-01 00:00:00+00")],
              sc.q("SELECT %s FROM kx.sdg_progress WHERE sdg_goal IN (7, 11) "
                   "ORDER BY 1" % cols))
    sc.res.eq("before: programme_sdg_progress rows",
              [("IURC", "7"), ("IURC", "11"), ("URBELAC", "11")],
              sc.q("SELECT programme, sdg_goal FROM kx.programme_sdg_progress "
                   "ORDER BY 1, 2"))
    sc.produce(
        pairing("P1", "matched", "2025-04-01T00:00:00Z", sdgs=["7"],
                members=[P_LISBOA, P_KYIV]),
        pairing("P3", "proposed", "2025-04-02T00:00:00Z", sdgs=["7.2"],
                programme="URBELAC", members=[P_BEIJING, P_LISBOA]))
    sc.aggregate()
    sc.res.eq("after: goal 11 drops, goal 7 rises (last_event_at recomputed)",
              [("7", "2", "1", "4", "4", "2025-04-02 00:00:00+00"),
               ("11", "1", "0", "2", "2", "2025-02-01 00:00:00+00")],
              sc.q("SELECT %s FROM kx.sdg_progress WHERE sdg_goal IN (7, 11) "
                   "ORDER BY 1" % cols))
    sc.res.eq("after: sdg_progress has 17 rows", "17",
              sc.q1("SELECT count(*) FROM kx.sdg_progress"))
    sc.res.eq("after: programme_sdg_progress rows",
              [("IURC", "7", "1", "1", "3", "3", "2025-04-01 00:00:00+00"),
               ("IURC", "11", "1", "0", "2", "2", "2025-02-01 00:00:00+00"),
               ("URBELAC", "7", "1", "0", "2", "2", "2025-04-02 00:00:00+00")],
              sc.q("SELECT programme, %s FROM kx.programme_sdg_progress "
                   "ORDER BY 1, 2" % cols))
    sc.res.eq("after: sdg_target_progress",
              [("7.2", "7", "1", "0")],
              sc.q("SELECT sdg_target, sdg_goal, pairings_proposed, pairings_active "
                   "FROM kx.sdg_target_progress ORDER BY 1"))
    sc.check_verify("retag")


def targets_once(suite):
    """Targets 11.6 and 11.2 on one entity count once for goal 11."""
    sc = suite.scenario("targets_once")
    sc.produce(
        visit("V1", "held", "2025-05-01T00:00:00Z", participants=10,
              sdgs=["11.6", "11.2"]),
        practice("PR1", "2025-05-02T00:00:00Z", sdgs=["11", "11.6.2", "11.6"]),
        transfer("T1", "PR1", "planned", "2025-05-03T00:00:00Z",
                 sdgs=["11.6", "11.6.1", "11.6.2"]))
    sc.aggregate()
    cols = "visits_held, participants, practices_documented, transfers_in_progress"
    sc.res.eq("goal 11 counts each entity once",
              [("1", "10", "1", "1")],
              sc.q("SELECT %s FROM kx.sdg_progress WHERE sdg_goal = 11" % cols))
    sc.res.eq("programme_sdg_progress IURC/11 counts each entity once",
              [("IURC", "11", "1", "10", "1", "1")],
              sc.q("SELECT programme, sdg_goal, %s FROM kx.programme_sdg_progress" % cols))
    sc.res.eq("sdg_target_progress has both targets, each entity once",
              [("11.2", "11", "1", "10", "0", "0"),
               ("11.6", "11", "1", "10", "1", "1")],
              sc.q("SELECT sdg_target, sdg_goal, %s FROM kx.sdg_target_progress "
                   "ORDER BY 1" % cols))
    sc.res.eq("other goals stay zero", "0",
              sc.q1("SELECT count(*) FROM kx.sdg_progress WHERE sdg_goal <> 11 "
                    "AND (visits_held + practices_documented + "
                    "transfers_in_progress) <> 0"))
    sc.check_verify("targets_once")


def indicator_target(suite):
    """7.a.1 counts toward 7.a; a goal-only tag toward no target."""
    sc = suite.scenario("indicator_target")
    sc.produce(
        practice("PR1", "2025-05-01T00:00:00Z", sdgs=["7"]),
        transfer("T1", "PR1", "replicated", "2025-05-02T00:00:00Z", sdgs=["7.a.1"]),
        practice("PR2", "2025-05-03T00:00:00Z", sdgs=["17.19.2", "7.a"]))
    sc.aggregate()
    sc.res.eq("sdg_target_progress: 7.a from the indicator, 17.19, no goal-only row",
              [("17.19", "17", "1", "0"), ("7.a", "7", "1", "1")],
              sc.q("SELECT sdg_target, sdg_goal, practices_documented, "
                   "transfers_replicated FROM kx.sdg_target_progress ORDER BY 1"))
    sc.res.eq("sdg_progress goals 7 and 17",
              [("7", "2", "1"), ("17", "1", "0")],
              sc.q("SELECT sdg_goal, practices_documented, transfers_replicated "
                   "FROM kx.sdg_progress WHERE sdg_goal IN (7, 17) ORDER BY 1"))
    sc.check_verify("indicator_target")


def unicode_parties(suite):
    """Parties that differ by case and NFC/NFD count as one partner."""
    sc = suite.scenario("unicode_parties")
    sp_nfd = "Sa\u0303o Paulo"
    kyiv_nfd = "\u041a\u0438\u0456\u0308\u0432"  # Київ with ї decomposed
    sc.produce(
        pairing("P1", "matched", "2025-03-01T00:00:00Z", members=[
            party("São Paulo", "BR"), party("SÃO PAULO", "BR"),
            party(sp_nfd, "BR"), party("Lisboa", "PT", eu=True),
            party("LISBOA", "PT", eu=True)]),
        pairing("P2", "matched", "2025-03-02T00:00:00Z", members=[
            party("Київ", "UA"), party("КИЇВ", "UA"), party(kyiv_nfd, "UA"),
            party("Valencia", "ES", eu=True), party("Valencia", "VE")]))
    sc.aggregate()
    sc.res.eq("programme_progress: 5 partners in 5 countries",
              ("5", "5"), sc.progress("IURC", ["countries", "partners"]))
    sc.res.eq("sdg_progress goal 11: 5 partners in 5 countries",
              [("5", "5")],
              sc.q("SELECT countries, partners FROM kx.sdg_progress WHERE sdg_goal = 11"))
    sc.res.eq("kx.parties holds one row per party", "5",
              sc.q1("SELECT count(*) FROM kx.parties"))
    # A later event naming the party in yet another form adds nothing.
    sc.produce(visit("V1", "held", "2025-04-01T00:00:00Z", participants=3,
                     host=party("lisboa", "PT", eu=True),
                     visitors=[party("sÃo paulo", "BR")]))
    sc.aggregate()
    sc.res.eq("another spelling in a later batch is the same partner",
              ("5", "5"), sc.progress("IURC", ["countries", "partners"]))
    sc.check_verify("unicode_parties")


def monthly_activity(suite):
    """Months: earliest event carrying the state, newest held participants,
    leaving the state, current programme, UTC months from offsets."""
    sc = suite.scenario("monthly_activity")
    id_b, id_c = eid(0xB00000), eid(0xA00000)  # id_c < id_b as text
    sc.produce(
        pairing("PM1", "proposed", "2025-01-15T10:00:00Z"),
        pairing("PM1", "matched", "2025-01-31T23:30:00-01:00"),  # Feb 1 UTC
        pairing("PM2", "matched", "2025-03-01T00:30:00+01:00"),  # Feb 28 UTC
        pairing("PM3", "matched", "2025-04-10T10:00:00Z"),
        pairing("PM3", "agreement_signed", "2025-05-01T10:00:00Z"),
        pairing("PM4", "matched", "2025-04-15T10:00:00Z"),
        visit("VM1", "held", "2025-05-05T10:00:00Z", participants=20),
        visit("VM2", "held", "2025-06-30T23:30:00-02:00", participants=7),  # Jul 1 UTC
        visit("VO", "planned", "2025-08-01T10:30:00+01:00"),  # 09:30Z
        visit("VO", "held", "2025-08-01T09:45:00Z", participants=5, event_id=id_b),
        transfer("TR1", "PRX", "replicated", "2025-09-15T10:00:00Z"))
    sc.aggregate()
    sc.res.eq("run 1: monthly_activity",
              [("2025-02-01", "IURC", "2", "0", "0", "0"),
               ("2025-04-01", "IURC", "2", "0", "0", "0"),
               ("2025-05-01", "IURC", "0", "1", "20", "0"),
               ("2025-07-01", "IURC", "0", "1", "7", "0"),
               ("2025-08-01", "IURC", "0", "1", "5", "0"),
               ("2025-09-01", "IURC", "0", "0", "0", "1")], monthly(sc))
    sc.res.eq("10:30+01:00 is older than 09:45Z: VO is held", "held",
              sc.q1("SELECT state FROM kx.visits WHERE visit_id = 'VO'"))
    sc.check_verify("monthly run 1")
    sc.produce(
        pairing("PM1", "suspended", "2025-03-10T10:00:00Z"),
        pairing("PM3", "matched", "2025-03-20T10:00:00Z"),  # late, earlier
        pairing("PM4", "agreement_signed", "2025-04-20T10:00:00Z", programme="IUC"),
        visit("VM1", "held", "2025-05-20T10:00:00Z", participants=25),  # correction
        visit("VM1", "cancelled", "2025-06-01T10:00:00Z"),
        visit("VM2", "held", "2025-06-29T10:00:00Z", participants=3),  # late, earlier
        # Same instant as VO's held event, smaller event_id: it loses.
        visit("VO", "cancelled", "2025-08-01T10:45:00+01:00", event_id=id_c),
        transfer("TR1", "PRX", "abandoned", "2025-10-01T10:00:00Z"))
    sc.aggregate()
    sc.res.eq("run 2: monthly_activity",
              [("2025-02-01", "IURC", "2", "0", "0", "0"),
               ("2025-03-01", "IURC", "1", "0", "0", "0"),
               ("2025-04-01", "IUC", "1", "0", "0", "0"),
               ("2025-05-01", "IURC", "0", "1", "25", "0"),
               ("2025-06-01", "IURC", "0", "1", "7", "0"),
               ("2025-08-01", "IURC", "0", "1", "5", "0"),
               ("2025-09-01", "IURC", "0", "0", "0", "1")], monthly(sc))
    sc.res.eq("run 2: the tie on the instant goes to the larger event_id", "held",
              sc.q1("SELECT state FROM kx.visits WHERE visit_id = 'VO'"))
    sc.res.eq("run 2: programme_progress IURC (current state)",
              measures(pairings_active=2, pairings_suspended=1,
                       visits_held=2, participants=12, visits_cancelled=1,
                       transfers_abandoned=1, countries=3, partners=3),
              sc.progress("IURC", MEASURES))
    sc.res.eq("run 2: programme_progress IUC",
              measures(pairings_active=1, countries=2, partners=2),
              sc.progress("IUC", MEASURES))
    sc.check_verify("monthly run 2")


def programme_change(suite):
    """An entity whose programme changes: all its counts follow it."""
    sc = suite.scenario("programme_change")
    sc.produce(
        pairing("PC1", "agreement_signed", "2025-03-01T00:00:00Z", pilot=4,
                sdgs=["11", "11.6"], members=[P_LISBOA, P_KYIV]),
        visit("VC1", "held", "2025-03-05T00:00:00Z", participants=12),
        practice("PRS", "2025-02-01T00:00:00Z", origin=P_BEIJING))
    sc.aggregate()
    sc.res.eq("before: IURC",
              measures(pairings_active=1, pilot_projects=4, visits_held=1,
                       participants=12, practices_documented=1, countries=4,
                       partners=4),
              sc.progress("IURC", MEASURES))
    sc.produce(
        pairing("PC1", "action_plan_adopted", "2025-04-01T00:00:00Z", pilot=5,
                programme="URBELAC", sdgs=["11", "11.6"], members=[P_LISBOA, P_KYIV]),
        visit("VC1", "held", "2025-04-02T00:00:00Z", participants=15,
              programme="URBELAC"))
    sc.aggregate()
    sc.res.eq("after: IURC keeps only the practice",
              measures(practices_documented=1, countries=1, partners=1),
              sc.progress("IURC", MEASURES))
    sc.res.eq("after: URBELAC has the pairing and the visit",
              measures(pairings_active=1, action_plans_adopted=1,
                       pilot_projects=5, visits_held=1, participants=15,
                       countries=3, partners=3),
              sc.progress("URBELAC", MEASURES))
    sc.res.eq("after: last_event_at per programme",
              [("IURC", "2025-02-01 00:00:00+00"), ("URBELAC", "2025-04-02 00:00:00+00")],
              sc.q("SELECT programme, last_event_at FROM kx.programme_progress ORDER BY 1"))
    sc.res.eq("after: programme_sdg_progress follows",
              [("IURC", "11", "0", "0", "1"), ("URBELAC", "11", "1", "1", "0")],
              sc.q("SELECT programme, sdg_goal, pairings_active, visits_held, "
                   "practices_documented FROM kx.programme_sdg_progress ORDER BY 1, 2"))
    sc.res.eq("after: pairing_funnel URBELAC",
              funnel_of(action_plan_adopted=1), sc.funnel("URBELAC"))
    sc.res.eq("after: pairing_funnel IURC is all zeros", funnel_of(), sc.funnel("IURC"))
    sc.res.eq("after: monthly_activity moves with the visit",
              [("2025-03-01", "URBELAC", "0", "1", "15", "0")], monthly(sc))
    sc.check_verify("programme_change")


def last_event_at(suite):
    """last_event_at falls back to the next newest entity when the newest
    one leaves the programme (the cell_last_event recompute path)."""
    sc = suite.scenario("last_event_at")
    sc.produce(
        pairing("LA", "proposed", "2025-01-01T00:00:00Z", sdgs=["5"]),
        practice("LB", "2025-02-01T00:00:00Z", sdgs=["5"]),
        visit("LC", "planned", "2025-03-01T00:00:00Z", sdgs=["5"]))
    sc.aggregate()

    def lea():
        return sc.q("SELECT programme, last_event_at FROM kx.programme_progress ORDER BY 1")

    sc.res.eq("run 1", [("IURC", "2025-03-01 00:00:00+00")], lea())
    sc.produce(visit("LC", "planned", "2025-04-01T00:00:00Z", sdgs=["5"], programme="IUC"))
    sc.aggregate()
    sc.res.eq("newest moves away: IURC falls back to the next newest",
              [("IUC", "2025-04-01 00:00:00+00"), ("IURC", "2025-02-01 00:00:00+00")], lea())
    sc.res.eq("programme_sdg_progress IURC/5 falls back too",
              [("IUC", "5", "2025-04-01 00:00:00+00"), ("IURC", "5", "2025-02-01 00:00:00+00")],
              sc.q("SELECT programme, sdg_goal, last_event_at FROM kx.programme_sdg_progress ORDER BY 1"))
    sc.check_verify("last_event_at run 2")
    sc.produce(practice("LB", "2025-05-01T00:00:00Z", sdgs=["5"], programme="RPD"),
               pairing("LA", "proposed", "2025-01-15T00:00:00Z", sdgs=["5"]))
    sc.aggregate()
    sc.res.eq("one leaves and one is updated in the same batch",
              [("IUC", "2025-04-01 00:00:00+00"), ("IURC", "2025-01-15 00:00:00+00"),
               ("RPD", "2025-05-01 00:00:00+00")], lea())
    sc.produce(pairing("LA", "proposed", "2025-06-01T00:00:00Z", sdgs=["5"], programme="RPD"))
    sc.aggregate()
    sc.res.eq("last entity leaves: no IURC row",
              [("IUC", "2025-04-01 00:00:00+00"), ("RPD", "2025-06-01 00:00:00+00")], lea())
    sc.res.eq("sdg_progress goal 5 last_event_at", "2025-06-01 00:00:00+00",
              sc.q1("SELECT last_event_at FROM kx.sdg_progress WHERE sdg_goal = 5"))
    sc.check_verify("last_event_at run 4")


def target_progress(suite):
    """kx-admin targets load, kx.target_progress, and a bad file."""
    sc = suite.scenario("target_progress")
    sc.produce(pairing("TP1", "matched", "2025-02-01T00:00:00Z"),
               visit("TV1", "held", "2025-03-01T00:00:00Z", participants=2))
    sc.aggregate()
    good = os.path.join(sc.tmp, "targets.csv")
    with open(good, "w") as fp:
        fp.write("programme,measure,target\n"
                 "IURC,pairings_active,3\n"
                 "IURC,participants,7\n"
                 "IURC,partners,0\n"
                 "IURC,visits_held,16\n"
                 "IURC,countries,1\n"
                 "IURC,pairings_completed,4\n"
                 "RPD,visits_held,10\n")
    rc, out, err = sc.admin("targets", "load", good)
    sc.res.eq("targets load: exit 0", 0, rc)
    query = ("SELECT programme, measure, target, achieved, pct FROM "
             "kx.target_progress ORDER BY 1, 2")
    expected = [
        ("IURC", "countries", "1", "2", "200.0"),
        ("IURC", "pairings_active", "3", "1", "33.3"),
        ("IURC", "pairings_completed", "4", "0", "0.0"),
        ("IURC", "participants", "7", "2", "28.6"),
        ("IURC", "partners", "0", "2", ""),       # target 0: pct NULL
        ("IURC", "visits_held", "16", "1", "6.3"),  # 6.25 rounds up
        ("RPD", "visits_held", "10", "0", "0.0"),   # no RPD row: achieved 0
    ]
    sc.res.eq("target_progress", expected, sc.q(query))
    bad_files = {
        "bad programme": "IURC,pairings_active,5\nNOPE,visits_held,3\n",
        "bad measure": "IURC,pairings_active,5\nIURC,entities,3\n",
        "negative target": "IURC,pairings_active,5\nIURC,visits_held,-1\n",
        "non-integer target": "IURC,pairings_active,5\nIURC,visits_held,1.5\n",
        "wrong field count": "IURC,pairings_active,5\nIURC,visits_held\n",
    }
    for what, text in bad_files.items():
        path = os.path.join(sc.tmp, "bad.csv")
        with open(path, "w") as fp:
            fp.write("programme,measure,target\n" + text)
        rc, out, err = sc.admin("targets", "load", path)
        sc.res.eq("targets load of a file with a %s: exit 1" % what, 1, rc)
        sc.res.true("targets load of a file with a %s: says which record" % what,
                    "record 3" in err, err)
        sc.res.eq("targets load of a file with a %s: nothing loaded" % what,
                  expected, sc.q(query))
    rc, out, err = sc.admin("targets", "load", os.path.join(sc.tmp, "missing.csv"))
    sc.res.eq("targets load of a missing file: exit 2", 2, rc)
    with open(good, "w") as fp:
        fp.write("IURC,pairings_active,5\n")
    rc, out, err = sc.admin("targets", "load", good)
    sc.res.eq("targets load without a header updates a target", (0, "20.0"),
              (rc, sc.q1("SELECT pct FROM kx.target_progress WHERE "
                         "programme = 'IURC' AND measure = 'pairings_active'")))
    sc.check_verify("target_progress")


def verify_corrupt(suite):
    """verify fails on a corrupted aggregate row, naming it; rebuild repairs."""
    sc = suite.scenario("verify_corrupt")
    sc.produce(
        pairing("VP1", "matched", "2025-02-01T00:00:00Z", sdgs=["11.6"]),
        visit("VV1", "held", "2025-03-01T00:00:00Z", participants=8, sdgs=["11"]),
        visit("VV2", "held", "2025-03-02T00:00:00Z", participants=4, sdgs=["3"],
              programme="IUC"))
    sc.aggregate()
    sc.check_verify("before corruption")
    views = ["programme_progress", "sdg_progress", "programme_sdg_progress",
             "sdg_target_progress", "pairing_funnel", "monthly_activity"]
    before = {v: sc.q("SELECT * FROM kx.%s ORDER BY 1, 2" % v) for v in views}
    sc.q("UPDATE kx.agg_cell SET visits_held = visits_held + 1 WHERE ctid = "
         "(SELECT ctid FROM kx.agg_cell WHERE dim = 0 AND programme = 'IURC' "
         "AND visits_held > 0 LIMIT 1) RETURNING 1")
    rc, out, err = sc.verify()
    sc.res.eq("corrupted agg_cell: verify exits 1", 1, rc)
    sc.res.true("corrupted agg_cell: verify names the row and the measure",
                "agg_cell dim=0 programme=IURC goal=0 target=" in out
                and "'visits_held' is 2, recomputed 1" in out, out + err)
    sc.res.eq("corrupted agg_cell: exactly one difference", 1,
              len([l for l in out.splitlines() if l.startswith("agg_cell")]))
    sc.q("UPDATE kx.agg_party SET refs = refs + 1 WHERE ctid = (SELECT ctid "
         "FROM kx.agg_party WHERE cell_id IN (SELECT cell_id FROM kx.cells "
         "WHERE dim = 1) LIMIT 1) RETURNING 1")
    sc.q("UPDATE kx.agg_monthly SET participants = participants + 5 WHERE ctid = "
         "(SELECT ctid FROM kx.agg_monthly WHERE programme = 'IUC' LIMIT 1) RETURNING 1")
    # The partner and country counts are recomputed from the party
    # references once (schema version 5); each must still be checked.
    sc.q("UPDATE kx.agg_country SET refs = refs + 2 WHERE ctid = (SELECT "
         "ctid FROM kx.agg_country WHERE cell_id IN (SELECT cell_id FROM "
         "kx.cells WHERE dim = 0 AND programme = 'IUC') LIMIT 1) RETURNING 1")
    sc.q("UPDATE kx.agg_cell SET partners = partners + 3 WHERE ctid = (SELECT "
         "ctid FROM kx.agg_cell WHERE dim = 0 AND programme = 'IUC' AND "
         "partners > 0 LIMIT 1) RETURNING 1")
    rc, out, err = sc.verify()
    sc.res.true("corrupted agg_party and agg_monthly: verify names them",
                rc == 1 and "\nagg_party dim=1" in "\n" + out
                and "agg_monthly month=2025-03-01 programme=IUC" in out
                and "'participants' is 9, recomputed 4" in out, out + err)
    sc.res.true("corrupted agg_country and partners: verify names them",
                "\nagg_country dim=0 programme=IUC goal=0 target= country="
                in "\n" + out
                and "agg_cell dim=0 programme=IUC goal=0 target=: 'partners'"
                in out, out + err)
    rc, out, err = sc.admin("rebuild")
    sc.res.eq("rebuild: exit 0", 0, rc)
    sc.check_verify("after rebuild")
    sc.res.eq("after rebuild: views as before",
              before, {v: sc.q("SELECT * FROM kx.%s ORDER BY 1, 2" % v) for v in views})
    # The consumer goes on from the rebuilt tables.
    sc.produce(visit("VV1", "cancelled", "2025-04-01T00:00:00Z", sdgs=["11"]))
    sc.aggregate()
    sc.res.eq("after rebuild: deltas apply on the rebuilt rows",
              ("0", "0", "1"),
              sc.progress("IURC", ["visits_held", "participants", "visits_cancelled"]))
    sc.check_verify("after rebuild and a new batch")


def on_terminal(cmd, env):
    """Runs cmd with its stderr on a pseudo-terminal: (rc, stdout, stderr)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    err = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child has closed the terminal
            break
        if not data:
            break
        err += data
    out = p.stdout.read()
    p.wait(timeout=120)
    os.close(master)
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def verify_progress(suite):
    """On a terminal, verify and rebuild show how long their recomputation
    has run, once a second; on a pipe they print nothing more. A lock on
    kx.agg_cell, held for 3 s, makes the recomputation wait that long."""
    sc = suite.scenario("verify_progress")
    sc.produce(pairing("PG1", "matched", "2025-02-01T00:00:00Z"))
    sc.aggregate()
    for cmd in ("verify", "rebuild"):
        locker = subprocess.Popen(
            ["psql", "-X", "-q", sc.db, "-c", "BEGIN; LOCK kx.agg_cell IN "
             "ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if sc.q1("SELECT count(*) FROM pg_locks WHERE relation = "
                     "'kx.agg_cell'::regclass AND mode = "
                     "'AccessExclusiveLock' AND granted") == "1":
                break
            time.sleep(0.05)
        rc, out, err = on_terminal([os.path.join(BIN, "kx-admin"), cmd], sc.env)
        locker.wait(timeout=60)
        sc.res.eq("%s on a terminal: exit 0" % cmd, 0, rc)
        shown = "kx-admin: %s: recomputing every aggregate: " % cmd
        sc.res.true("%s on a terminal: shows 1 s, then 2 s, then a newline" % cmd,
                    shown + "1 s" in err and "\r" + shown + "2 s" in err
                    and err.endswith("\n"), repr(err))
    rc, out, err = sc.verify()
    sc.res.true("verify on a pipe: exit 0, no progress", rc == 0
                and "recomputing" not in out + err, out + err)


SCENARIOS = [pairing_walk, visit_late_planned, duplicates, retag, targets_once,
             indicator_target, unicode_parties, monthly_activity,
             programme_change, last_event_at, target_progress, verify_corrupt,
             verify_progress]

if __name__ == "__main__":
    sys.exit(Suite("agg_views").run(SCENARIOS, only=sys.argv[1:]))
