-- Version 5: kx-admin verify and kx-admin rebuild recompute the party
-- references once.
--
-- PostgreSQL expands a view at every reference. kx.verify_differences
-- read kx.expected_party directly and again through kx.expected_country
-- and kx.expected_cell_parties, so the costliest recomputation (every
-- current entity's cells times its parties, grouped) ran three times:
-- 22 of verify's 32 s over 1M events, and 20-25 minutes at 10M. Now it is
-- a MATERIALIZED CTE; the country rows are grouped from it, and each
-- cell's partners and countries from those. kx.rebuild() writes
-- kx.agg_party from the recomputation and derives the country rows and
-- the partner counts from what it wrote. The two views nothing else
-- reads are dropped.

DROP VIEW kx.verify_differences;
DROP VIEW kx.expected_cell_parties;
DROP VIEW kx.expected_country;

-- Every difference between the aggregate tables and their recomputation,
-- one row per differing measure; kx-admin verify prints these. Also checks
-- that each entity's snapshot is the event the history says it should be.
CREATE VIEW kx.verify_differences AS
WITH ep AS MATERIALIZED (
  SELECT * FROM kx.expected_party
), ecountry AS (
  SELECT e.dim, e.programme, e.goal, e.target, p.country,
         count(*)::bigint AS refs
    FROM ep e JOIN kx.parties p USING (party_id)
   GROUP BY e.dim, e.programme, e.goal, e.target, p.country
), ecp AS (
  -- A cell's partners are its parties, over all its countries.
  SELECT dim, programme, goal, target,
         sum(refs)::bigint AS partners, count(*)::bigint AS countries
    FROM ecountry
   GROUP BY dim, programme, goal, target
), cell AS (
  SELECT format('dim=%s programme=%s goal=%s target=%s shard=%s',
                dim, programme, goal, target, shard) AS row_key,
         jsonb_build_object('entities', coalesce(a.entities, 0), 'pairings_proposed', coalesce(a.pairings_proposed, 0), 'pairings_matched', coalesce(a.pairings_matched, 0), 'pairings_agreement_signed', coalesce(a.pairings_agreement_signed, 0), 'pairings_action_plan_adopted', coalesce(a.pairings_action_plan_adopted, 0), 'pairings_completed', coalesce(a.pairings_completed, 0), 'pairings_suspended', coalesce(a.pairings_suspended, 0), 'pairings_withdrawn', coalesce(a.pairings_withdrawn, 0), 'action_plans_adopted', coalesce(a.action_plans_adopted, 0), 'pilot_projects', coalesce(a.pilot_projects, 0), 'visits_planned', coalesce(a.visits_planned, 0), 'visits_held', coalesce(a.visits_held, 0), 'visits_cancelled', coalesce(a.visits_cancelled, 0), 'participants', coalesce(a.participants, 0), 'practices_documented', coalesce(a.practices_documented, 0), 'transfers_planned', coalesce(a.transfers_planned, 0), 'transfers_piloting', coalesce(a.transfers_piloting, 0), 'transfers_replicated', coalesce(a.transfers_replicated, 0), 'transfers_abandoned', coalesce(a.transfers_abandoned, 0), 'last_event_at',
                            CASE WHEN coalesce(a.entities, 0) > 0 THEN a.last_event_at END) AS stored,
         jsonb_build_object('entities', coalesce(e.entities, 0), 'pairings_proposed', coalesce(e.pairings_proposed, 0), 'pairings_matched', coalesce(e.pairings_matched, 0), 'pairings_agreement_signed', coalesce(e.pairings_agreement_signed, 0), 'pairings_action_plan_adopted', coalesce(e.pairings_action_plan_adopted, 0), 'pairings_completed', coalesce(e.pairings_completed, 0), 'pairings_suspended', coalesce(e.pairings_suspended, 0), 'pairings_withdrawn', coalesce(e.pairings_withdrawn, 0), 'action_plans_adopted', coalesce(e.action_plans_adopted, 0), 'pilot_projects', coalesce(e.pilot_projects, 0), 'visits_planned', coalesce(e.visits_planned, 0), 'visits_held', coalesce(e.visits_held, 0), 'visits_cancelled', coalesce(e.visits_cancelled, 0), 'participants', coalesce(e.participants, 0), 'practices_documented', coalesce(e.practices_documented, 0), 'transfers_planned', coalesce(e.transfers_planned, 0), 'transfers_piloting', coalesce(e.transfers_piloting, 0), 'transfers_replicated', coalesce(e.transfers_replicated, 0), 'transfers_abandoned', coalesce(e.transfers_abandoned, 0), 'last_event_at', e.last_event_at) AS expected
    FROM kx.agg_cell a
    FULL JOIN kx.expected_cell e USING (dim, programme, goal, target, shard)
), cell_parties AS (
  SELECT format('dim=%s programme=%s goal=%s target=%s',
                dim, programme, goal, target) AS row_key,
         jsonb_build_object('partners', coalesce(a.partners, 0),
                            'countries', coalesce(a.countries, 0)) AS stored,
         jsonb_build_object('partners', coalesce(e.partners, 0),
                            'countries', coalesce(e.countries, 0)) AS expected
    FROM (SELECT dim, programme, goal, target, sum(partners) AS partners,
                 sum(countries) AS countries
            FROM kx.agg_cell GROUP BY dim, programme, goal, target) a
    FULL JOIN ecp e USING (dim, programme, goal, target)
), party AS (
  SELECT format('dim=%s programme=%s goal=%s target=%s party_id=%s',
                dim, programme, goal, target, party_id) AS row_key,
         jsonb_build_object('refs', coalesce(a.refs, 0)) AS stored,
         jsonb_build_object('refs', coalesce(e.refs, 0)) AS expected
    FROM (SELECT c.dim, c.programme, c.goal, c.target, a.party_id, a.refs
            FROM kx.agg_party a LEFT JOIN kx.cells c USING (cell_id)) a
    FULL JOIN ep e USING (dim, programme, goal, target, party_id)
   WHERE coalesce(a.refs, 0) <> coalesce(e.refs, 0)
), country AS (
  SELECT format('dim=%s programme=%s goal=%s target=%s country=%s',
                dim, programme, goal, target, country) AS row_key,
         jsonb_build_object('refs', coalesce(a.refs, 0)) AS stored,
         jsonb_build_object('refs', coalesce(e.refs, 0)) AS expected
    FROM (SELECT c.dim, c.programme, c.goal, c.target, a.country, a.refs
            FROM kx.agg_country a LEFT JOIN kx.cells c USING (cell_id)) a
    FULL JOIN ecountry e USING (dim, programme, goal, target, country)
   WHERE coalesce(a.refs, 0) <> coalesce(e.refs, 0)
), monthly AS (
  SELECT format('month=%s programme=%s shard=%s', month, programme, shard) AS row_key,
         jsonb_build_object('pairings_matched', coalesce(a.pairings_matched, 0),
                            'visits_held', coalesce(a.visits_held, 0),
                            'participants', coalesce(a.participants, 0),
                            'transfers_replicated', coalesce(a.transfers_replicated, 0)) AS stored,
         jsonb_build_object('pairings_matched', coalesce(e.pairings_matched, 0),
                            'visits_held', coalesce(e.visits_held, 0),
                            'participants', coalesce(e.participants, 0),
                            'transfers_replicated', coalesce(e.transfers_replicated, 0)) AS expected
    FROM kx.agg_monthly a
    FULL JOIN kx.expected_monthly e USING (month, programme, shard)
), newest AS (
  SELECT DISTINCT ON (entity, entity_id) entity, entity_id, event_id
    FROM kx.events
   ORDER BY entity, entity_id, occurred_at DESC, event_id::text DESC
), snapshot AS (
  SELECT format('%s %s', k.name, s.id) AS row_key,
         jsonb_build_object('last_event_id', s.last_event_id) AS stored,
         jsonb_build_object('last_event_id', n.event_id) AS expected
    FROM (SELECT 0 AS entity, pairing_id AS id, last_event_id FROM kx.pairings
          UNION ALL SELECT 1, visit_id, last_event_id FROM kx.visits
          UNION ALL SELECT 2, practice_id, last_event_id FROM kx.practices
          UNION ALL SELECT 3, transfer_id, last_event_id FROM kx.transfers) s
    JOIN (VALUES (0, 'pairing'), (1, 'visit'), (2, 'practice'), (3, 'transfer')) k(entity, name)
      USING (entity)
    FULL JOIN newest n ON n.entity = s.entity AND n.entity_id = s.id
   WHERE s.last_event_id IS DISTINCT FROM n.event_id
), diffs AS (
  SELECT 'agg_cell' AS tbl, * FROM cell
  UNION ALL SELECT 'agg_cell', * FROM cell_parties
  UNION ALL SELECT 'agg_party', * FROM party
  UNION ALL SELECT 'agg_country', * FROM country
  UNION ALL SELECT 'agg_monthly', * FROM monthly
  UNION ALL SELECT 'entity', * FROM snapshot
)
SELECT d.tbl, d.row_key, k.key AS measure, d.stored -> k.key AS stored,
       d.expected -> k.key AS expected
  FROM diffs d
 CROSS JOIN LATERAL jsonb_object_keys(d.expected) AS k(key)
 WHERE (d.stored -> k.key) IS DISTINCT FROM (d.expected -> k.key);

-- Replaces the aggregate tables with their recomputation. Takes locks
-- that make running consumers wait, so it is safe while they run. The
-- party references are recomputed once; the country rows and each cell's
-- partners and countries are counted from them, as a batch keeps them.
CREATE OR REPLACE FUNCTION kx.rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE kx.agg_cell, kx.agg_party, kx.agg_country, kx.agg_monthly,
             kx.cells, kx.pairings, kx.visits, kx.practices, kx.transfers
             IN EXCLUSIVE MODE;
  DELETE FROM kx.agg_cell;
  DELETE FROM kx.agg_party;
  DELETE FROM kx.agg_country;
  DELETE FROM kx.agg_monthly;
  INSERT INTO kx.cells (dim, programme, goal, target)
  SELECT DISTINCT dim, programme, goal, target FROM kx.expected_cell
   ORDER BY 1, 2, 3, 4
  ON CONFLICT DO NOTHING;
  INSERT INTO kx.agg_cell (dim, programme, goal, target, shard, entities, pairings_proposed, pairings_matched, pairings_agreement_signed, pairings_action_plan_adopted, pairings_completed, pairings_suspended, pairings_withdrawn, action_plans_adopted, pilot_projects, visits_planned, visits_held, visits_cancelled, participants, practices_documented, transfers_planned, transfers_piloting, transfers_replicated, transfers_abandoned, last_event_at)
  SELECT dim, programme, goal, target, shard, entities, pairings_proposed, pairings_matched, pairings_agreement_signed, pairings_action_plan_adopted, pairings_completed, pairings_suspended, pairings_withdrawn, action_plans_adopted, pilot_projects, visits_planned, visits_held, visits_cancelled, participants, practices_documented, transfers_planned, transfers_piloting, transfers_replicated, transfers_abandoned, last_event_at
    FROM kx.expected_cell;
  INSERT INTO kx.agg_party (cell_id, party_id, refs)
  SELECT c.cell_id, e.party_id, e.refs
    FROM kx.expected_party e JOIN kx.cells c USING (dim, programme, goal, target);
  INSERT INTO kx.agg_country (cell_id, country, refs)
  SELECT a.cell_id, p.country, count(*)
    FROM kx.agg_party a JOIN kx.parties p USING (party_id)
   WHERE a.refs > 0
   GROUP BY a.cell_id, p.country;
  UPDATE kx.agg_cell a
     SET partners = x.partners, countries = x.countries
    FROM (SELECT c.dim, c.programme, c.goal, c.target,
                 (SELECT count(*) FROM kx.agg_party p
                   WHERE p.cell_id = c.cell_id AND p.refs > 0) AS partners,
                 (SELECT count(*) FROM kx.agg_country n
                   WHERE n.cell_id = c.cell_id AND n.refs > 0) AS countries
            FROM kx.cells c) x
   WHERE (a.dim, a.programme, a.goal, a.target)
       = (x.dim, x.programme, x.goal, x.target)
     AND a.shard = (SELECT min(s.shard) FROM kx.agg_cell s
                     WHERE (s.dim, s.programme, s.goal, s.target)
                         = (x.dim, x.programme, x.goal, x.target));
  INSERT INTO kx.agg_monthly (month, programme, shard, pairings_matched,
                              visits_held, participants, transfers_replicated)
  SELECT month, programme, shard, pairings_matched, visits_held, participants,
         transfers_replicated FROM kx.expected_monthly;
END
$$;
