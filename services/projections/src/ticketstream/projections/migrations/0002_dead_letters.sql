-- Messages on the stream that are not valid ticket events: kept, with the reason, so the
-- projector can go on and an operator can see what was skipped.

CREATE TABLE dead_letters (
    projection   text NOT NULL,
    position     bigint NOT NULL,
    payload      bytea NOT NULL,
    error        text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, position)
);
