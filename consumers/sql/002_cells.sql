-- KX schema, version 2: party references keyed by an integer cell id, and
-- partners/countries kept as counters, so every view is a sum over
-- kx.agg_cell and no view counts DISTINCT.
--
-- kx.cells names every aggregate cell (dim, programme, goal, target) by a
-- small integer. kx.agg_party counts, per (cell, party), the current
-- entities of the cell that name the party, over all shards: a party is a
-- partner of the cell while its refs > 0 anywhere, so the count cannot be
-- split by shard. For a goal (dim 1) it counts instead the programmes in
-- which the party is a partner of the goal, so only a programme x goal
-- crossing moves it. kx.agg_country counts, per (cell, country), the parties
-- of that country that are partners of the cell. A batch that moves a
-- (cell, party) refs across 0 <-> 1 adds +-1 to the partners of one of its
-- own shards' agg_cell rows (and likewise countries on a (cell, country)
-- crossing); the views sum the shards, so the per-shard split of
-- partners/countries is arbitrary and only the cell's sum is checked.
--
-- Entity tables lose the GIN indexes on goals/targets and the (shard,
-- programme, last_event_at) indexes: their only reader,
-- kx.cell_last_event(), is served by one (shard, last_event_at) index
-- scanned backwards. kx.events loses its (entity, entity_id) index, which
-- nothing read.

CREATE TABLE kx.cells (
  cell_id    serial PRIMARY KEY,
  dim        smallint NOT NULL,  -- 0 programme, 1 goal, 2 programme x goal, 3 target
  programme  text NOT NULL,
  goal       smallint NOT NULL,
  target     text NOT NULL,
  UNIQUE (dim, programme, goal, target)
);

-- Every cell the CONTRACT allows, so the consumer finds them all at start;
-- it still inserts any other cell it meets (say, a programme added later).
INSERT INTO kx.cells (dim, programme, goal, target)
SELECT dim, programme, goal, target FROM (
  SELECT 0 AS ord, 0::smallint AS dim, p AS programme, 0::smallint AS goal,
         ''::text AS target
    FROM unnest(ARRAY['IUC', 'IURC', 'ICP-AGIR', 'URBELAC', 'RPD'])
         WITH ORDINALITY AS x(p, i)
  UNION ALL
  SELECT 1, 1, '', g::smallint, '' FROM generate_series(1, 17) g
  UNION ALL
  SELECT 2, 2, p, g::smallint, ''
    FROM unnest(ARRAY['IUC', 'IURC', 'ICP-AGIR', 'URBELAC', 'RPD']) p,
         generate_series(1, 17) g
  UNION ALL
  SELECT 3, 3, '', g::smallint, g || '.' || t
    FROM generate_series(1, 17) g,
         unnest(ARRAY['1', '2', '3', '4', '5', '6', '7', '8', '9', '10',
                      '11', '12', '13', '14', '15', '16', '17', '18', '19',
                      'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']) t
  UNION ALL
  SELECT 4, dim, programme, goal, target FROM kx.agg_cell
  UNION ALL
  SELECT 4, dim, programme, goal, target FROM kx.agg_party) c
ORDER BY ord, dim, programme, goal, target
ON CONFLICT DO NOTHING;

ALTER TABLE kx.agg_party RENAME TO agg_party_v1;

-- delta is the change the last batch made to refs: the batch's upsert
-- returns refs and delta, so it sees refs - delta, the count before it,
-- without joining its input back.
CREATE TABLE kx.agg_party (
  cell_id   int NOT NULL,
  party_id  int NOT NULL,
  refs      int NOT NULL,
  delta     int NOT NULL DEFAULT 0,
  PRIMARY KEY (cell_id, party_id)
) WITH (fillfactor = 80);

CREATE TABLE kx.agg_country (
  cell_id  int NOT NULL,
  country  text NOT NULL,
  refs     int NOT NULL,   -- parties of this country with refs > 0 in the cell
  PRIMARY KEY (cell_id, country)
) WITH (fillfactor = 80);

INSERT INTO kx.agg_party (cell_id, party_id, refs)
SELECT c.cell_id, a.party_id, sum(a.refs)
  FROM kx.agg_party_v1 a
  JOIN kx.cells c USING (dim, programme, goal, target)
 WHERE a.dim <> 1
 GROUP BY c.cell_id, a.party_id
HAVING sum(a.refs) <> 0;

-- A goal's rows count the programmes in which the party is a partner of
-- the goal (see kx.expected_party).
INSERT INTO kx.agg_party (cell_id, party_id, refs)
SELECT g.cell_id, a.party_id, count(*)
  FROM kx.agg_party a
  JOIN kx.cells pg ON pg.cell_id = a.cell_id AND pg.dim = 2
  JOIN kx.cells g ON g.dim = 1 AND g.programme = '' AND g.goal = pg.goal
                 AND g.target = ''
 WHERE a.refs > 0
 GROUP BY g.cell_id, a.party_id;

INSERT INTO kx.agg_country (cell_id, country, refs)
SELECT a.cell_id, p.country, count(*)
  FROM kx.agg_party a JOIN kx.parties p USING (party_id)
 WHERE a.refs > 0
 GROUP BY a.cell_id, p.country;

ALTER TABLE kx.agg_cell
  ADD COLUMN partners bigint NOT NULL DEFAULT 0,
  ADD COLUMN countries bigint NOT NULL DEFAULT 0;

-- Each cell's counts go to its lowest shard's row.
UPDATE kx.agg_cell a
   SET partners = x.partners, countries = x.countries
  FROM (SELECT c.dim, c.programme, c.goal, c.target,
               (SELECT min(shard) FROM kx.agg_cell s
                 WHERE (s.dim, s.programme, s.goal, s.target)
                     = (c.dim, c.programme, c.goal, c.target)) AS shard,
               (SELECT count(*) FROM kx.agg_party p
                 WHERE p.cell_id = c.cell_id AND p.refs > 0) AS partners,
               (SELECT count(*) FROM kx.agg_country n
                 WHERE n.cell_id = c.cell_id AND n.refs > 0) AS countries
          FROM kx.cells c) x
 WHERE (a.dim, a.programme, a.goal, a.target, a.shard)
     = (x.dim, x.programme, x.goal, x.target, x.shard);

DROP VIEW kx.verify_differences;
DROP VIEW kx.expected_party;

-- Sums the shards of every cell. Internal: dashboards use the views below.
CREATE OR REPLACE VIEW kx.cell_totals AS
SELECT c.dim, c.programme, c.goal, c.target,
       sum(c.entities)::bigint AS entities,
       sum(c.pairings_proposed)::bigint AS pairings_proposed,
       sum(c.pairings_matched)::bigint AS pairings_matched,
       sum(c.pairings_agreement_signed)::bigint AS pairings_agreement_signed,
       sum(c.pairings_action_plan_adopted)::bigint AS pairings_action_plan_adopted,
       (sum(c.pairings_matched) + sum(c.pairings_agreement_signed)
        + sum(c.pairings_action_plan_adopted))::bigint AS pairings_active,
       sum(c.pairings_completed)::bigint AS pairings_completed,
       sum(c.pairings_suspended)::bigint AS pairings_suspended,
       sum(c.pairings_withdrawn)::bigint AS pairings_withdrawn,
       sum(c.action_plans_adopted)::bigint AS action_plans_adopted,
       sum(c.pilot_projects)::bigint AS pilot_projects,
       sum(c.visits_planned)::bigint AS visits_planned,
       sum(c.visits_held)::bigint AS visits_held,
       sum(c.visits_cancelled)::bigint AS visits_cancelled,
       sum(c.participants)::bigint AS participants,
       sum(c.practices_documented)::bigint AS practices_documented,
       (sum(c.transfers_planned) + sum(c.transfers_piloting))::bigint AS transfers_in_progress,
       sum(c.transfers_replicated)::bigint AS transfers_replicated,
       sum(c.transfers_abandoned)::bigint AS transfers_abandoned,
       max(c.last_event_at) AS last_event_at,
       sum(c.partners)::bigint AS partners,
       sum(c.countries)::bigint AS countries
  FROM kx.agg_cell c
 GROUP BY c.dim, c.programme, c.goal, c.target
HAVING sum(c.entities) > 0;

CREATE OR REPLACE VIEW kx.programme_progress AS
SELECT t.programme,
       t.pairings_proposed, t.pairings_active, t.pairings_completed,
       t.pairings_suspended, t.pairings_withdrawn, t.action_plans_adopted,
       t.pilot_projects, t.visits_planned, t.visits_held, t.visits_cancelled,
       t.participants, t.practices_documented, t.transfers_in_progress,
       t.transfers_replicated, t.transfers_abandoned,
       t.countries, t.partners, t.last_event_at
  FROM kx.cell_totals t
 WHERE t.dim = 0;

CREATE OR REPLACE VIEW kx.sdg_progress AS
SELECT g.goal::smallint AS sdg_goal,
       coalesce(t.pairings_proposed, 0) AS pairings_proposed,
       coalesce(t.pairings_active, 0) AS pairings_active,
       coalesce(t.pairings_completed, 0) AS pairings_completed,
       coalesce(t.pairings_suspended, 0) AS pairings_suspended,
       coalesce(t.pairings_withdrawn, 0) AS pairings_withdrawn,
       coalesce(t.action_plans_adopted, 0) AS action_plans_adopted,
       coalesce(t.pilot_projects, 0) AS pilot_projects,
       coalesce(t.visits_planned, 0) AS visits_planned,
       coalesce(t.visits_held, 0) AS visits_held,
       coalesce(t.visits_cancelled, 0) AS visits_cancelled,
       coalesce(t.participants, 0) AS participants,
       coalesce(t.practices_documented, 0) AS practices_documented,
       coalesce(t.transfers_in_progress, 0) AS transfers_in_progress,
       coalesce(t.transfers_replicated, 0) AS transfers_replicated,
       coalesce(t.transfers_abandoned, 0) AS transfers_abandoned,
       coalesce(t.countries, 0) AS countries,
       coalesce(t.partners, 0) AS partners,
       t.last_event_at
  FROM generate_series(1, 17) AS g(goal)
  LEFT JOIN kx.cell_totals t
    ON t.dim = 1 AND t.goal = g.goal AND t.programme = '' AND t.target = '';

CREATE OR REPLACE VIEW kx.programme_sdg_progress AS
SELECT t.programme, t.goal AS sdg_goal,
       t.pairings_proposed, t.pairings_active, t.pairings_completed,
       t.pairings_suspended, t.pairings_withdrawn, t.action_plans_adopted,
       t.pilot_projects, t.visits_planned, t.visits_held, t.visits_cancelled,
       t.participants, t.practices_documented, t.transfers_in_progress,
       t.transfers_replicated, t.transfers_abandoned,
       t.countries, t.partners, t.last_event_at
  FROM kx.cell_totals t
 WHERE t.dim = 2;

CREATE OR REPLACE VIEW kx.sdg_target_progress AS
SELECT t.target AS sdg_target, t.goal AS sdg_goal,
       t.pairings_proposed, t.pairings_active, t.pairings_completed,
       t.pairings_suspended, t.pairings_withdrawn, t.action_plans_adopted,
       t.pilot_projects, t.visits_planned, t.visits_held, t.visits_cancelled,
       t.participants, t.practices_documented, t.transfers_in_progress,
       t.transfers_replicated, t.transfers_abandoned,
       t.countries, t.partners, t.last_event_at
  FROM kx.cell_totals t
 WHERE t.dim = 3;

DROP VIEW kx.cell_parties;
DROP TABLE kx.agg_party_v1;

-- One (shard, last_event_at) index per entity table serves every
-- kx.cell_last_event() probe: a backward scan of the shard stops at the
-- first entity in the cell.
DROP INDEX kx.pairings_prog, kx.visits_prog, kx.practices_prog,
  kx.transfers_prog, kx.pairings_goals, kx.visits_goals,
  kx.practices_goals, kx.transfers_goals, kx.pairings_targets,
  kx.visits_targets, kx.practices_targets, kx.transfers_targets,
  kx.events_entity;
CREATE INDEX pairings_shard_last ON kx.pairings (shard, last_event_at);
CREATE INDEX visits_shard_last ON kx.visits (shard, last_event_at);
CREATE INDEX practices_shard_last ON kx.practices (shard, last_event_at);
CREATE INDEX transfers_shard_last ON kx.transfers (shard, last_event_at);

CREATE OR REPLACE FUNCTION kx.cell_last_event(p_dim smallint,
                                              p_programme text,
                                              p_goal smallint,
                                              p_target text, p_shard int)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT max(m) FROM (
    SELECT max(last_event_at) AS m FROM kx.pairings
     WHERE shard = p_shard
       AND (p_dim NOT IN (0, 2) OR programme = p_programme)
       AND (p_dim NOT IN (1, 2) OR goals @> ARRAY[p_goal])
       AND (p_dim <> 3 OR targets @> ARRAY[p_target])
    UNION ALL
    SELECT max(last_event_at) FROM kx.visits
     WHERE shard = p_shard
       AND (p_dim NOT IN (0, 2) OR programme = p_programme)
       AND (p_dim NOT IN (1, 2) OR goals @> ARRAY[p_goal])
       AND (p_dim <> 3 OR targets @> ARRAY[p_target])
    UNION ALL
    SELECT max(last_event_at) FROM kx.practices
     WHERE shard = p_shard
       AND (p_dim NOT IN (0, 2) OR programme = p_programme)
       AND (p_dim NOT IN (1, 2) OR goals @> ARRAY[p_goal])
       AND (p_dim <> 3 OR targets @> ARRAY[p_target])
    UNION ALL
    SELECT max(last_event_at) FROM kx.transfers
     WHERE shard = p_shard
       AND (p_dim NOT IN (0, 2) OR programme = p_programme)
       AND (p_dim NOT IN (1, 2) OR goals @> ARRAY[p_goal])
       AND (p_dim <> 3 OR targets @> ARRAY[p_target])) s
$$;

-- Recomputed party references, per (cell, party) over all shards: the
-- current entities of the cell that name the party, except for a goal
-- (dim 1), where refs counts the programmes in which the party is a
-- partner of the goal. Either way a party is a partner while refs > 0;
-- the goal's form lets a batch move it only when a programme x goal
-- partner appears or goes.
CREATE VIEW kx.expected_party AS
WITH e AS (
  SELECT c.dim, c.programme, c.goal, c.target, p.party_id,
         count(*)::bigint AS refs
    FROM kx.expected_entity_cells c,
         LATERAL (SELECT DISTINCT unnest(c.party_ids) AS party_id) p
   WHERE c.dim <> 1
   GROUP BY c.dim, c.programme, c.goal, c.target, p.party_id)
SELECT dim, programme, goal, target, party_id, refs FROM e
UNION ALL
SELECT 1::smallint, '', goal, '', party_id, count(*)::bigint
  FROM e WHERE dim = 2
 GROUP BY goal, party_id;

CREATE VIEW kx.expected_country AS
SELECT e.dim, e.programme, e.goal, e.target, p.country,
       count(*)::bigint AS refs
  FROM kx.expected_party e JOIN kx.parties p USING (party_id)
 GROUP BY e.dim, e.programme, e.goal, e.target, p.country;

CREATE VIEW kx.expected_cell_parties AS
SELECT dim, programme, goal, target,
       count(*)::bigint AS partners,
       count(DISTINCT country)::bigint AS countries
  FROM kx.expected_party JOIN kx.parties USING (party_id)
 GROUP BY dim, programme, goal, target;

-- Every difference between the aggregate tables and their recomputation,
-- one row per differing measure; kx-admin verify prints these. Also checks
-- that each entity's snapshot is the event the history says it should be.
CREATE VIEW kx.verify_differences AS
WITH cell AS (
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
    FULL JOIN kx.expected_cell_parties e USING (dim, programme, goal, target)
), party AS (
  SELECT format('dim=%s programme=%s goal=%s target=%s party_id=%s',
                dim, programme, goal, target, party_id) AS row_key,
         jsonb_build_object('refs', coalesce(a.refs, 0)) AS stored,
         jsonb_build_object('refs', coalesce(e.refs, 0)) AS expected
    FROM (SELECT c.dim, c.programme, c.goal, c.target, a.party_id, a.refs
            FROM kx.agg_party a LEFT JOIN kx.cells c USING (cell_id)) a
    FULL JOIN kx.expected_party e USING (dim, programme, goal, target, party_id)
   WHERE coalesce(a.refs, 0) <> coalesce(e.refs, 0)
), country AS (
  SELECT format('dim=%s programme=%s goal=%s target=%s country=%s',
                dim, programme, goal, target, country) AS row_key,
         jsonb_build_object('refs', coalesce(a.refs, 0)) AS stored,
         jsonb_build_object('refs', coalesce(e.refs, 0)) AS expected
    FROM (SELECT c.dim, c.programme, c.goal, c.target, a.country, a.refs
            FROM kx.agg_country a LEFT JOIN kx.cells c USING (cell_id)) a
    FULL JOIN kx.expected_country e USING (dim, programme, goal, target, country)
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
-- that make running consumers wait, so it is safe while they run.
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
  SELECT c.cell_id, e.country, e.refs
    FROM kx.expected_country e JOIN kx.cells c USING (dim, programme, goal, target);
  UPDATE kx.agg_cell a
     SET partners = e.partners, countries = e.countries
    FROM kx.expected_cell_parties e
   WHERE (a.dim, a.programme, a.goal, a.target)
       = (e.dim, e.programme, e.goal, e.target)
     AND a.shard = (SELECT min(s.shard) FROM kx.agg_cell s
                     WHERE (s.dim, s.programme, s.goal, s.target)
                         = (e.dim, e.programme, e.goal, e.target));
  INSERT INTO kx.agg_monthly (month, programme, shard, pairings_matched,
                              visits_held, participants, transfers_replicated)
  SELECT month, programme, shard, pairings_matched, visits_held, participants,
         transfers_replicated FROM kx.expected_monthly;
END
$$;

GRANT SELECT ON kx.programme_progress, kx.sdg_progress,
  kx.programme_sdg_progress, kx.sdg_target_progress TO kx_reader;
