-- After-call notes (B13): what the agent wrote when the call was over,
-- and the outcome they chose (a stable code: resolved, follow_up,
-- callback, wrong_number, no_answer). Not to be confused with the
-- column "outcome", which is how the switch ended the call
-- (state:cause, e.g. "ended:normalClearing").
ALTER TABLE calls ADD COLUMN note text;
ALTER TABLE calls ADD COLUMN disposition text;
