-- Version 4: what the batch's party statement needs to find every crossing
-- from the RETURNING of the upsert before it alone, without joining a
-- CTE whose size the planner cannot estimate (docs/performance.md).
--
-- kx.cells.goal_cell_id: for a programme x goal cell (dim 2), the goal
-- cell (dim 1) whose agg_party rows count the programmes in which a party
-- is a partner of that goal. A trigger fills it for cells inserted later.
-- kx.agg_country.delta: the last batch's change of refs, as in agg_party,
-- so refs - delta is the count before that batch.

ALTER TABLE kx.cells ADD COLUMN goal_cell_id int REFERENCES kx.cells;

UPDATE kx.cells c
   SET goal_cell_id = g.cell_id
  FROM kx.cells g
 WHERE c.dim = 2 AND g.dim = 1 AND g.programme = '' AND g.target = ''
   AND g.goal = c.goal;

CREATE FUNCTION kx.cells_goal_cell() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.dim = 2 THEN
    SELECT cell_id INTO NEW.goal_cell_id
      FROM kx.cells
     WHERE dim = 1 AND programme = '' AND goal = NEW.goal AND target = '';
    IF NEW.goal_cell_id IS NULL THEN
      INSERT INTO kx.cells (dim, programme, goal, target)
      VALUES (1, '', NEW.goal, '')
      RETURNING cell_id INTO NEW.goal_cell_id;
    END IF;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER cells_goal_cell BEFORE INSERT ON kx.cells
  FOR EACH ROW EXECUTE FUNCTION kx.cells_goal_cell();

ALTER TABLE kx.agg_country ADD COLUMN delta int NOT NULL DEFAULT 0;
