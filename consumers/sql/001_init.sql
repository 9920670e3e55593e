-- KX schema, version 1.
--
-- Layout: the append-only event history (kx.events), one table of current
-- entity states per entity kind (kx.pairings, kx.visits, kx.practices,
-- kx.transfers), aggregate tables maintained by deltas and sharded by the
-- Kafka partition that owns them (kx.agg_*), the consumer offsets, the
-- rejected messages and the targets. Dashboards read only the views at the
-- end of this file.
--
-- A shard is family * 10000 + partition: every aggregate row belongs to
-- exactly one Kafka partition, so several consumer instances never write
-- the same row, and each shard is exactly-once under its partition's
-- offset guard (kx.consumer_offsets).

CREATE SCHEMA IF NOT EXISTS kx;

CREATE TABLE kx.parties (
  party_id   serial PRIMARY KEY,
  country    text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  name_key   text NOT NULL,   -- NFC, case-folded: the identity rule of CONTRACT §1
  name       text NOT NULL,   -- as first seen
  kind       text NOT NULL,
  eu         boolean NOT NULL,
  UNIQUE (country, name_key)
);

CREATE TABLE kx.events (
  event_id     uuid PRIMARY KEY,
  entity       smallint NOT NULL,  -- 0 pairing, 1 visit, 2 practice, 3 transfer
  entity_id    text NOT NULL,
  event_type   text NOT NULL,
  occurred_at  timestamptz NOT NULL,
  programme    text NOT NULL,
  shard        int NOT NULL,
  kafka_offset bigint NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_entity ON kx.events (entity, entity_id);

-- Current entity states. last_event_at/last_event_id order the snapshot
-- rule; first_*_at/_id keep the earliest event that carried a state, for
-- kx.monthly_activity, which counts history rather than current state.
CREATE TABLE kx.pairings (
  pairing_id        text PRIMARY KEY,
  shard             int NOT NULL,
  programme         text NOT NULL,
  state             text NOT NULL,
  source            text NOT NULL,
  geo_area          text,
  cooperation_type  text NOT NULL,
  pilot_projects    int NOT NULL,
  sdgs              text[] NOT NULL,
  goals             smallint[] NOT NULL,
  targets           text[] NOT NULL,
  themes            text[] NOT NULL,
  party_ids         int[] NOT NULL,
  last_event_at     timestamptz NOT NULL,
  last_event_id     uuid NOT NULL,
  first_matched_at  timestamptz,
  first_matched_id  uuid,
  updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kx.visits (
  visit_id            text PRIMARY KEY,
  shard               int NOT NULL,
  programme           text NOT NULL,
  state               text NOT NULL,
  source              text NOT NULL,
  geo_area            text,
  pairing_id          text,
  visit_type          text NOT NULL,
  format              text NOT NULL,
  start_date          date NOT NULL,
  end_date            date NOT NULL,
  participants        int,
  sdgs                text[] NOT NULL,
  goals               smallint[] NOT NULL,
  targets             text[] NOT NULL,
  themes              text[] NOT NULL,
  party_ids           int[] NOT NULL,
  last_event_at       timestamptz NOT NULL,
  last_event_id       uuid NOT NULL,
  first_held_at       timestamptz,
  first_held_id       uuid,
  held_newest_at      timestamptz,
  held_newest_id      uuid,
  held_participants   int,
  updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kx.practices (
  practice_id     text PRIMARY KEY,
  shard           int NOT NULL,
  programme       text NOT NULL,
  state           text NOT NULL,
  source          text NOT NULL,
  geo_area        text,
  title           text NOT NULL,
  product_type    text NOT NULL,
  sdgs            text[] NOT NULL,
  goals           smallint[] NOT NULL,
  targets         text[] NOT NULL,
  themes          text[] NOT NULL,
  party_ids       int[] NOT NULL,
  last_event_at   timestamptz NOT NULL,
  last_event_id   uuid NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kx.transfers (
  transfer_id           text PRIMARY KEY,
  shard                 int NOT NULL,
  programme             text NOT NULL,
  state                 text NOT NULL,
  source                text NOT NULL,
  geo_area              text,
  practice_id           text NOT NULL,
  sdgs                  text[] NOT NULL,
  goals                 smallint[] NOT NULL,
  targets               text[] NOT NULL,
  themes                text[] NOT NULL,
  party_ids             int[] NOT NULL,
  last_event_at         timestamptz NOT NULL,
  last_event_id         uuid NOT NULL,
  first_replicated_at   timestamptz,
  first_replicated_id   uuid,
  updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Lookups for recomputing a cell's last_event_at when the entity that
-- held it leaves the cell (a re-tag or a programme change).
CREATE INDEX pairings_prog ON kx.pairings (shard, programme, last_event_at);
CREATE INDEX visits_prog ON kx.visits (shard, programme, last_event_at);
CREATE INDEX practices_prog ON kx.practices (shard, programme, last_event_at);
CREATE INDEX transfers_prog ON kx.transfers (shard, programme, last_event_at);
CREATE INDEX pairings_goals ON kx.pairings USING gin (goals);
CREATE INDEX visits_goals ON kx.visits USING gin (goals);
CREATE INDEX practices_goals ON kx.practices USING gin (goals);
CREATE INDEX transfers_goals ON kx.transfers USING gin (goals);
CREATE INDEX pairings_targets ON kx.pairings USING gin (targets);
CREATE INDEX visits_targets ON kx.visits USING gin (targets);
CREATE INDEX practices_targets ON kx.practices USING gin (targets);
CREATE INDEX transfers_targets ON kx.transfers USING gin (targets);

-- Aggregate cells. dim: 0 programme, 1 goal, 2 programme x goal,
-- 3 target. Unused dimensions hold '' or 0 so the key has no NULLs.
CREATE TABLE kx.agg_cell (
  dim                           smallint NOT NULL,
  programme                     text NOT NULL,
  goal                          smallint NOT NULL,
  target                        text NOT NULL,
  shard                         int NOT NULL,
  entities                      bigint NOT NULL DEFAULT 0,
  pairings_proposed             bigint NOT NULL DEFAULT 0,
  pairings_matched              bigint NOT NULL DEFAULT 0,
  pairings_agreement_signed     bigint NOT NULL DEFAULT 0,
  pairings_action_plan_adopted  bigint NOT NULL DEFAULT 0,
  pairings_completed            bigint NOT NULL DEFAULT 0,
  pairings_suspended            bigint NOT NULL DEFAULT 0,
  pairings_withdrawn            bigint NOT NULL DEFAULT 0,
  action_plans_adopted          bigint NOT NULL DEFAULT 0,
  pilot_projects                bigint NOT NULL DEFAULT 0,
  visits_planned                bigint NOT NULL DEFAULT 0,
  visits_held                   bigint NOT NULL DEFAULT 0,
  visits_cancelled              bigint NOT NULL DEFAULT 0,
  participants                  bigint NOT NULL DEFAULT 0,
  practices_documented          bigint NOT NULL DEFAULT 0,
  transfers_planned             bigint NOT NULL DEFAULT 0,
  transfers_piloting            bigint NOT NULL DEFAULT 0,
  transfers_replicated          bigint NOT NULL DEFAULT 0,
  transfers_abandoned           bigint NOT NULL DEFAULT 0,
  last_event_at                 timestamptz,
  PRIMARY KEY (dim, programme, goal, target, shard)
);

-- How many current entities of a cell name a party; a party counts toward
-- partners (and its country toward countries) while refs > 0 in any shard.
CREATE TABLE kx.agg_party (
  dim        smallint NOT NULL,
  programme  text NOT NULL,
  goal       smallint NOT NULL,
  target     text NOT NULL,
  party_id   int NOT NULL,
  shard      int NOT NULL,
  refs       bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (dim, programme, goal, target, party_id, shard)
);

CREATE TABLE kx.agg_monthly (
  month                 date NOT NULL,
  programme             text NOT NULL,
  shard                 int NOT NULL,
  pairings_matched      bigint NOT NULL DEFAULT 0,
  visits_held           bigint NOT NULL DEFAULT 0,
  participants          bigint NOT NULL DEFAULT 0,
  transfers_replicated  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (month, programme, shard)
);

-- The truth about consumer progress. A batch moves next_offset in the same
-- transaction as its effects, and only from the value the consumer last
-- saw, so a zombie instance (or a PostgreSQL that lost its newest commits)
-- is caught by the guard and re-seeks instead of counting twice.
CREATE TABLE kx.consumer_offsets (
  group_id     text NOT NULL,
  topic        text NOT NULL,
  partition    int NOT NULL,
  next_offset  bigint NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

CREATE TABLE kx.rejected_events (
  id            bigserial PRIMARY KEY,
  group_id      text NOT NULL,
  topic         text NOT NULL,
  partition     int NOT NULL,
  kafka_offset  bigint NOT NULL,
  key           bytea,
  value         bytea,
  reason        text NOT NULL,
  rejected_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (group_id, topic, partition, kafka_offset)
);

CREATE TABLE kx.programme_targets (
  programme  text NOT NULL CHECK (programme IN ('IUC', 'IURC', 'ICP-AGIR', 'URBELAC', 'RPD')),
  measure    text NOT NULL CHECK (measure IN (
    'pairings_proposed', 'pairings_active', 'pairings_completed',
    'pairings_suspended', 'pairings_withdrawn', 'action_plans_adopted',
    'pilot_projects', 'visits_planned', 'visits_held', 'visits_cancelled',
    'participants', 'practices_documented', 'transfers_in_progress',
    'transfers_replicated', 'transfers_abandoned', 'countries', 'partners')),
  target     bigint NOT NULL CHECK (target >= 0),
  PRIMARY KEY (programme, measure)
);

-- Sums the shards of every cell. Internal: dashboards use the views below.
CREATE VIEW kx.cell_totals AS
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
       max(c.last_event_at) AS last_event_at
  FROM kx.agg_cell c
 GROUP BY c.dim, c.programme, c.goal, c.target
HAVING sum(c.entities) > 0;

CREATE VIEW kx.cell_parties AS
SELECT a.dim, a.programme, a.goal, a.target,
       count(DISTINCT a.party_id)::bigint AS partners,
       count(DISTINCT p.country)::bigint AS countries
  FROM kx.agg_party a
  JOIN kx.parties p USING (party_id)
 WHERE a.refs > 0
 GROUP BY a.dim, a.programme, a.goal, a.target;

CREATE VIEW kx.programme_progress AS
SELECT t.programme,
       t.pairings_proposed, t.pairings_active, t.pairings_completed,
       t.pairings_suspended, t.pairings_withdrawn, t.action_plans_adopted,
       t.pilot_projects, t.visits_planned, t.visits_held, t.visits_cancelled,
       t.participants, t.practices_documented, t.transfers_in_progress,
       t.transfers_replicated, t.transfers_abandoned,
       coalesce(p.countries, 0) AS countries,
       coalesce(p.partners, 0) AS partners,
       t.last_event_at
  FROM kx.cell_totals t
  LEFT JOIN kx.cell_parties p
    ON p.dim = 0 AND p.programme = t.programme AND p.goal = 0 AND p.target = ''
 WHERE t.dim = 0;

CREATE VIEW kx.sdg_progress AS
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
       coalesce(p.countries, 0) AS countries,
       coalesce(p.partners, 0) AS partners,
       t.last_event_at
  FROM generate_series(1, 17) AS g(goal)
  LEFT JOIN kx.cell_totals t
    ON t.dim = 1 AND t.goal = g.goal AND t.programme = '' AND t.target = ''
  LEFT JOIN kx.cell_parties p
    ON p.dim = 1 AND p.goal = g.goal AND p.programme = '' AND p.target = '';

CREATE VIEW kx.programme_sdg_progress AS
SELECT t.programme, t.goal AS sdg_goal,
       t.pairings_proposed, t.pairings_active, t.pairings_completed,
       t.pairings_suspended, t.pairings_withdrawn, t.action_plans_adopted,
       t.pilot_projects, t.visits_planned, t.visits_held, t.visits_cancelled,
       t.participants, t.practices_documented, t.transfers_in_progress,
       t.transfers_replicated, t.transfers_abandoned,
       coalesce(p.countries, 0) AS countries,
       coalesce(p.partners, 0) AS partners,
       t.last_event_at
  FROM kx.cell_totals t
  LEFT JOIN kx.cell_parties p
    ON p.dim = 2 AND p.programme = t.programme AND p.goal = t.goal AND p.target = ''
 WHERE t.dim = 2;

CREATE VIEW kx.sdg_target_progress AS
SELECT t.target AS sdg_target, t.goal AS sdg_goal,
       t.pairings_proposed, t.pairings_active, t.pairings_completed,
       t.pairings_suspended, t.pairings_withdrawn, t.action_plans_adopted,
       t.pilot_projects, t.visits_planned, t.visits_held, t.visits_cancelled,
       t.participants, t.practices_documented, t.transfers_in_progress,
       t.transfers_replicated, t.transfers_abandoned,
       coalesce(p.countries, 0) AS countries,
       coalesce(p.partners, 0) AS partners,
       t.last_event_at
  FROM kx.cell_totals t
  LEFT JOIN kx.cell_parties p
    ON p.dim = 3 AND p.target = t.target AND p.programme = '' AND p.goal = t.goal
 WHERE t.dim = 3;

CREATE VIEW kx.pairing_funnel AS
SELECT t.programme, s.state, s.pairings
  FROM kx.cell_totals t
 CROSS JOIN LATERAL (VALUES
       (1, 'proposed', t.pairings_proposed),
       (2, 'matched', t.pairings_matched),
       (3, 'agreement_signed', t.pairings_agreement_signed),
       (4, 'action_plan_adopted', t.pairings_action_plan_adopted),
       (5, 'completed', t.pairings_completed),
       (6, 'suspended', t.pairings_suspended),
       (7, 'withdrawn', t.pairings_withdrawn)) AS s(ord, state, pairings)
 WHERE t.dim = 0;

CREATE VIEW kx.monthly_activity AS
SELECT month, programme,
       sum(pairings_matched)::bigint AS pairings_matched,
       sum(visits_held)::bigint AS visits_held,
       sum(participants)::bigint AS participants,
       sum(transfers_replicated)::bigint AS transfers_replicated
  FROM kx.agg_monthly
 GROUP BY month, programme
HAVING sum(pairings_matched) <> 0 OR sum(visits_held) <> 0
    OR sum(participants) <> 0 OR sum(transfers_replicated) <> 0;

CREATE VIEW kx.target_progress AS
SELECT t.programme, t.measure, t.target,
       coalesce((to_jsonb(pp) ->> t.measure)::bigint, 0) AS achieved,
       CASE WHEN t.target = 0 THEN NULL
            ELSE round(100.0 * coalesce((to_jsonb(pp) ->> t.measure)::bigint, 0)
                       / t.target, 1)
       END AS pct
  FROM kx.programme_targets t
  LEFT JOIN kx.programme_progress pp USING (programme);

-- The newest last_event_at among a shard's entities in one cell: used when
-- the entity that held a cell's newest time leaves the cell.
CREATE FUNCTION kx.cell_last_event(p_dim smallint, p_programme text,
                                   p_goal smallint, p_target text,
                                   p_shard int)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
  r timestamptz;
BEGIN
  IF p_dim = 0 THEN
    SELECT max(m) INTO r FROM (
      SELECT max(last_event_at) AS m FROM kx.pairings WHERE shard = p_shard AND programme = p_programme
      UNION ALL SELECT max(last_event_at) FROM kx.visits WHERE shard = p_shard AND programme = p_programme
      UNION ALL SELECT max(last_event_at) FROM kx.practices WHERE shard = p_shard AND programme = p_programme
      UNION ALL SELECT max(last_event_at) FROM kx.transfers WHERE shard = p_shard AND programme = p_programme) s;
  ELSIF p_dim = 1 THEN
    SELECT max(m) INTO r FROM (
      SELECT max(last_event_at) AS m FROM kx.pairings WHERE shard = p_shard AND goals @> ARRAY[p_goal]
      UNION ALL SELECT max(last_event_at) FROM kx.visits WHERE shard = p_shard AND goals @> ARRAY[p_goal]
      UNION ALL SELECT max(last_event_at) FROM kx.practices WHERE shard = p_shard AND goals @> ARRAY[p_goal]
      UNION ALL SELECT max(last_event_at) FROM kx.transfers WHERE shard = p_shard AND goals @> ARRAY[p_goal]) s;
  ELSIF p_dim = 2 THEN
    SELECT max(m) INTO r FROM (
      SELECT max(last_event_at) AS m FROM kx.pairings WHERE shard = p_shard AND programme = p_programme AND goals @> ARRAY[p_goal]
      UNION ALL SELECT max(last_event_at) FROM kx.visits WHERE shard = p_shard AND programme = p_programme AND goals @> ARRAY[p_goal]
      UNION ALL SELECT max(last_event_at) FROM kx.practices WHERE shard = p_shard AND programme = p_programme AND goals @> ARRAY[p_goal]
      UNION ALL SELECT max(last_event_at) FROM kx.transfers WHERE shard = p_shard AND programme = p_programme AND goals @> ARRAY[p_goal]) s;
  ELSE
    SELECT max(m) INTO r FROM (
      SELECT max(last_event_at) AS m FROM kx.pairings WHERE shard = p_shard AND targets @> ARRAY[p_target]
      UNION ALL SELECT max(last_event_at) FROM kx.visits WHERE shard = p_shard AND targets @> ARRAY[p_target]
      UNION ALL SELECT max(last_event_at) FROM kx.practices WHERE shard = p_shard AND targets @> ARRAY[p_target]
      UNION ALL SELECT max(last_event_at) FROM kx.transfers WHERE shard = p_shard AND targets @> ARRAY[p_target]) s;
  END IF;
  RETURN r;
END
$$;

-- Recomputation of every aggregate from the entity states, written apart
-- from the consumer's C delta code: kx-admin verify compares these views
-- with the aggregate tables, and kx-admin rebuild replaces the tables
-- with them. Goals and targets are derived from the sdgs text here, not
-- taken from the goals/targets columns the consumer wrote.
CREATE VIEW kx.expected_entities AS
SELECT shard, programme, sdgs, party_ids, last_event_at,
       1 AS entities,
       (state = 'proposed')::int AS pairings_proposed,
       (state = 'matched')::int AS pairings_matched,
       (state = 'agreement_signed')::int AS pairings_agreement_signed,
       (state = 'action_plan_adopted')::int AS pairings_action_plan_adopted,
       (state = 'completed')::int AS pairings_completed,
       (state = 'suspended')::int AS pairings_suspended,
       (state = 'withdrawn')::int AS pairings_withdrawn,
       (state IN ('action_plan_adopted', 'completed'))::int AS action_plans_adopted,
       pilot_projects,
       0 AS visits_planned, 0 AS visits_held, 0 AS visits_cancelled, 0 AS participants,
       0 AS practices_documented,
       0 AS transfers_planned, 0 AS transfers_piloting, 0 AS transfers_replicated, 0 AS transfers_abandoned
  FROM kx.pairings
UNION ALL
SELECT shard, programme, sdgs, party_ids, last_event_at, 1,
       0, 0, 0, 0, 0, 0, 0, 0, 0,
       (state = 'planned')::int, (state = 'held')::int, (state = 'cancelled')::int,
       CASE WHEN state = 'held' THEN coalesce(participants, 0) ELSE 0 END,
       0, 0, 0, 0, 0
  FROM kx.visits
UNION ALL
SELECT shard, programme, sdgs, party_ids, last_event_at, 1,
       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
       1, 0, 0, 0, 0
  FROM kx.practices
UNION ALL
SELECT shard, programme, sdgs, party_ids, last_event_at, 1,
       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
       (state = 'planned')::int, (state = 'piloting')::int,
       (state = 'replicated')::int, (state = 'abandoned')::int
  FROM kx.transfers;

CREATE VIEW kx.expected_entity_cells AS
WITH e AS (
  SELECT x.shard, x.programme AS ent_programme, x.sdgs, x.party_ids,
         x.last_event_at, x.entities, x.pairings_proposed, x.pairings_matched,
         x.pairings_agreement_signed, x.pairings_action_plan_adopted,
         x.pairings_completed, x.pairings_suspended, x.pairings_withdrawn,
         x.action_plans_adopted, x.pilot_projects, x.visits_planned,
         x.visits_held, x.visits_cancelled, x.participants,
         x.practices_documented, x.transfers_planned, x.transfers_piloting,
         x.transfers_replicated, x.transfers_abandoned,
         ARRAY(SELECT DISTINCT split_part(s, '.', 1)::smallint FROM unnest(x.sdgs) s) AS g,
         ARRAY(SELECT DISTINCT split_part(s, '.', 1) || '.' || split_part(s, '.', 2)
                 FROM unnest(x.sdgs) s WHERE s LIKE '%.%') AS t
    FROM kx.expected_entities x)
SELECT 0::smallint AS dim, e.ent_programme AS programme, 0::smallint AS goal, ''::text AS target, e.* FROM e
UNION ALL
SELECT 1::smallint, '', g.goal, '', e.* FROM e, unnest(e.g) AS g(goal)
UNION ALL
SELECT 2::smallint, e.ent_programme, g.goal, '', e.* FROM e, unnest(e.g) AS g(goal)
UNION ALL
SELECT 3::smallint, '', split_part(t.target, '.', 1)::smallint, t.target, e.*
  FROM e, unnest(e.t) AS t(target);

CREATE VIEW kx.expected_cell AS
SELECT dim, programme, goal, target, shard,
       sum(entities)::bigint AS entities,
       sum(pairings_proposed)::bigint AS pairings_proposed,
       sum(pairings_matched)::bigint AS pairings_matched,
       sum(pairings_agreement_signed)::bigint AS pairings_agreement_signed,
       sum(pairings_action_plan_adopted)::bigint AS pairings_action_plan_adopted,
       sum(pairings_completed)::bigint AS pairings_completed,
       sum(pairings_suspended)::bigint AS pairings_suspended,
       sum(pairings_withdrawn)::bigint AS pairings_withdrawn,
       sum(action_plans_adopted)::bigint AS action_plans_adopted,
       sum(pilot_projects)::bigint AS pilot_projects,
       sum(visits_planned)::bigint AS visits_planned,
       sum(visits_held)::bigint AS visits_held,
       sum(visits_cancelled)::bigint AS visits_cancelled,
       sum(participants)::bigint AS participants,
       sum(practices_documented)::bigint AS practices_documented,
       sum(transfers_planned)::bigint AS transfers_planned,
       sum(transfers_piloting)::bigint AS transfers_piloting,
       sum(transfers_replicated)::bigint AS transfers_replicated,
       sum(transfers_abandoned)::bigint AS transfers_abandoned,
       max(last_event_at) AS last_event_at
  FROM kx.expected_entity_cells
 GROUP BY dim, programme, goal, target, shard;

CREATE VIEW kx.expected_party AS
SELECT c.dim, c.programme, c.goal, c.target, p.party_id, c.shard,
       count(*)::bigint AS refs
  FROM kx.expected_entity_cells c,
       LATERAL (SELECT DISTINCT unnest(c.party_ids) AS party_id) p
 GROUP BY c.dim, c.programme, c.goal, c.target, p.party_id, c.shard;

CREATE VIEW kx.expected_monthly AS
SELECT month, programme, shard,
       sum(pairings_matched)::bigint AS pairings_matched,
       sum(visits_held)::bigint AS visits_held,
       sum(participants)::bigint AS participants,
       sum(transfers_replicated)::bigint AS transfers_replicated
  FROM (
    SELECT date_trunc('month', first_matched_at AT TIME ZONE 'UTC')::date AS month,
           programme, shard, 1 AS pairings_matched, 0 AS visits_held,
           0 AS participants, 0 AS transfers_replicated
      FROM kx.pairings WHERE first_matched_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', first_held_at AT TIME ZONE 'UTC')::date,
           programme, shard, 0, 1, coalesce(held_participants, 0), 0
      FROM kx.visits WHERE first_held_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', first_replicated_at AT TIME ZONE 'UTC')::date,
           programme, shard, 0, 0, 0, 1
      FROM kx.transfers WHERE first_replicated_at IS NOT NULL) m
 GROUP BY month, programme, shard;

-- Every difference between the aggregate tables and their recomputation,
-- one row per differing measure; kx-admin verify prints these. Also checks
-- that each entity's snapshot and first markers are the events the
-- history says they should be.
CREATE VIEW kx.verify_differences AS
WITH cell AS (
  SELECT format('dim=%s programme=%s goal=%s target=%s shard=%s',
                dim, programme, goal, target, shard) AS row_key,
         jsonb_build_object('entities', coalesce(a.entities, 0), 'pairings_proposed', coalesce(a.pairings_proposed, 0), 'pairings_matched', coalesce(a.pairings_matched, 0), 'pairings_agreement_signed', coalesce(a.pairings_agreement_signed, 0), 'pairings_action_plan_adopted', coalesce(a.pairings_action_plan_adopted, 0), 'pairings_completed', coalesce(a.pairings_completed, 0), 'pairings_suspended', coalesce(a.pairings_suspended, 0), 'pairings_withdrawn', coalesce(a.pairings_withdrawn, 0), 'action_plans_adopted', coalesce(a.action_plans_adopted, 0), 'pilot_projects', coalesce(a.pilot_projects, 0), 'visits_planned', coalesce(a.visits_planned, 0), 'visits_held', coalesce(a.visits_held, 0), 'visits_cancelled', coalesce(a.visits_cancelled, 0), 'participants', coalesce(a.participants, 0), 'practices_documented', coalesce(a.practices_documented, 0), 'transfers_planned', coalesce(a.transfers_planned, 0), 'transfers_piloting', coalesce(a.transfers_piloting, 0), 'transfers_replicated', coalesce(a.transfers_replicated, 0), 'transfers_abandoned', coalesce(a.transfers_abandoned, 0), 'last_event_at',
                            CASE WHEN coalesce(a.entities, 0) > 0 THEN a.last_event_at END) AS stored,
         jsonb_build_object('entities', coalesce(e.entities, 0), 'pairings_proposed', coalesce(e.pairings_proposed, 0), 'pairings_matched', coalesce(e.pairings_matched, 0), 'pairings_agreement_signed', coalesce(e.pairings_agreement_signed, 0), 'pairings_action_plan_adopted', coalesce(e.pairings_action_plan_adopted, 0), 'pairings_completed', coalesce(e.pairings_completed, 0), 'pairings_suspended', coalesce(e.pairings_suspended, 0), 'pairings_withdrawn', coalesce(e.pairings_withdrawn, 0), 'action_plans_adopted', coalesce(e.action_plans_adopted, 0), 'pilot_projects', coalesce(e.pilot_projects, 0), 'visits_planned', coalesce(e.visits_planned, 0), 'visits_held', coalesce(e.visits_held, 0), 'visits_cancelled', coalesce(e.visits_cancelled, 0), 'participants', coalesce(e.participants, 0), 'practices_documented', coalesce(e.practices_documented, 0), 'transfers_planned', coalesce(e.transfers_planned, 0), 'transfers_piloting', coalesce(e.transfers_piloting, 0), 'transfers_replicated', coalesce(e.transfers_replicated, 0), 'transfers_abandoned', coalesce(e.transfers_abandoned, 0), 'last_event_at', e.last_event_at) AS expected
    FROM kx.agg_cell a
    FULL JOIN kx.expected_cell e USING (dim, programme, goal, target, shard)
), party AS (
  SELECT format('dim=%s programme=%s goal=%s target=%s party_id=%s shard=%s',
                dim, programme, goal, target, party_id, shard) AS row_key,
         jsonb_build_object('refs', coalesce(a.refs, 0)) AS stored,
         jsonb_build_object('refs', coalesce(e.refs, 0)) AS expected
    FROM kx.agg_party a
    FULL JOIN kx.expected_party e USING (dim, programme, goal, target, party_id, shard)
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
  UNION ALL SELECT 'agg_party', * FROM party
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
CREATE FUNCTION kx.rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE kx.agg_cell, kx.agg_party, kx.agg_monthly, kx.pairings,
             kx.visits, kx.practices, kx.transfers IN EXCLUSIVE MODE;
  DELETE FROM kx.agg_cell;
  DELETE FROM kx.agg_party;
  DELETE FROM kx.agg_monthly;
  INSERT INTO kx.agg_cell (dim, programme, goal, target, shard, entities, pairings_proposed, pairings_matched, pairings_agreement_signed, pairings_action_plan_adopted, pairings_completed, pairings_suspended, pairings_withdrawn, action_plans_adopted, pilot_projects, visits_planned, visits_held, visits_cancelled, participants, practices_documented, transfers_planned, transfers_piloting, transfers_replicated, transfers_abandoned, last_event_at)
  SELECT dim, programme, goal, target, shard, entities, pairings_proposed, pairings_matched, pairings_agreement_signed, pairings_action_plan_adopted, pairings_completed, pairings_suspended, pairings_withdrawn, action_plans_adopted, pilot_projects, visits_planned, visits_held, visits_cancelled, participants, practices_documented, transfers_planned, transfers_piloting, transfers_replicated, transfers_abandoned, last_event_at
    FROM kx.expected_cell;
  INSERT INTO kx.agg_party (dim, programme, goal, target, party_id, shard, refs)
  SELECT dim, programme, goal, target, party_id, shard, refs FROM kx.expected_party;
  INSERT INTO kx.agg_monthly (month, programme, shard, pairings_matched,
                              visits_held, participants, transfers_replicated)
  SELECT month, programme, shard, pairings_matched, visits_held, participants,
         transfers_replicated FROM kx.expected_monthly;
END
$$;

-- Roles: the consumer writes, dashboards read the views and nothing else.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kx_writer') THEN
    CREATE ROLE kx_writer LOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kx_reader') THEN
    CREATE ROLE kx_reader LOGIN;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA kx TO kx_writer, kx_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA kx TO kx_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA kx TO kx_writer;
-- Tables and sequences of later migrations reach the writer by default;
-- the reader gets each new view by an explicit GRANT.
ALTER DEFAULT PRIVILEGES IN SCHEMA kx
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kx_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA kx GRANT USAGE ON SEQUENCES TO kx_writer;
GRANT SELECT ON kx.programme_progress, kx.sdg_progress,
  kx.programme_sdg_progress, kx.sdg_target_progress, kx.pairing_funnel,
  kx.monthly_activity, kx.target_progress, kx.programme_targets,
  kx.rejected_events TO kx_reader;
