-- Full-text search moves to its own table: only events that add text touch it (and its GIN
-- index, which re-indexes every word of a row on each update), and the ticket row stays
-- narrow, so the many events that add no text (routing, assignment, status) update it
-- cheaply. Measured: the GIN index and the wide row were most of a batch's cost.

CREATE TABLE ticket_search (
    ticket_id  text PRIMARY KEY,
    search     tsvector NOT NULL
);

INSERT INTO ticket_search (ticket_id, search) SELECT ticket_id, search FROM tickets;

CREATE INDEX ticket_search_idx ON ticket_search USING gin (search);

ALTER TABLE tickets DROP COLUMN search;
