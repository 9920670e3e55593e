-- Version 3: the attributes the v2 schemas add (schemas/*.v2.avsc), kept
-- on the entity states like every other attribute (snapshot rule), and two
-- views over them. They are not CONTRACT §3 views: they read the entity
-- tables directly (a scan per query), which is fine at programme scale.
-- Events written with v1 leave them absent (NULL; follow_up 'none').

ALTER TABLE kx.pairings
  ADD COLUMN budget_eur bigint CHECK (budget_eur >= 0);

ALTER TABLE kx.visits
  ADD COLUMN report_url text,
  ADD COLUMN public_sector int,   -- participants by sector: all four NULL
  ADD COLUMN private_sector int,  -- when the partner gave no breakdown
  ADD COLUMN academia int,
  ADD COLUMN civil_society int,
  ADD COLUMN follow_up text NOT NULL DEFAULT 'none';

ALTER TABLE kx.practices
  ADD COLUMN url text;

-- Budgets of the pairings that are not withdrawn, per programme.
CREATE VIEW kx.pairing_budgets AS
SELECT programme,
       count(*) AS pairings,
       count(budget_eur) AS pairings_with_budget,
       coalesce(sum(budget_eur), 0)::bigint AS budget_eur
  FROM kx.pairings
 WHERE state <> 'withdrawn'
 GROUP BY programme;

-- Held visits per programme: participants by sector (where the partner
-- gave them), reports, and what the visits led to.
CREATE VIEW kx.visit_outcomes AS
SELECT programme,
       count(*) AS visits_held,
       count(public_sector) AS visits_with_sectors,
       coalesce(sum(public_sector), 0)::bigint AS public_sector,
       coalesce(sum(private_sector), 0)::bigint AS private_sector,
       coalesce(sum(academia), 0)::bigint AS academia,
       coalesce(sum(civil_society), 0)::bigint AS civil_society,
       count(report_url) AS visits_with_report,
       count(*) FILTER (WHERE follow_up = 'action_plan') AS follow_up_action_plan,
       count(*) FILTER (WHERE follow_up = 'pilot') AS follow_up_pilot,
       count(*) FILTER (WHERE follow_up = 'replication') AS follow_up_replication
  FROM kx.visits
 WHERE state = 'held'
 GROUP BY programme;

GRANT SELECT ON kx.pairing_budgets, kx.visit_outcomes TO kx_reader;
