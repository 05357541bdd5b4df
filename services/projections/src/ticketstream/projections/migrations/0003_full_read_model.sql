-- The full ticket read model: every field agents filter and sort on, the SLA and satisfaction
-- figures, a full-text search vector (subject and every thread body), a stale flag for tickets
-- whose history has a gap, and the indexes the list and the queues need.

ALTER TABLE tickets
    ADD COLUMN department               text,
    ADD COLUMN assignee                 text,
    ADD COLUMN category                 text,
    ADD COLUMN tags                     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN sla_plan                 text,
    ADD COLUMN first_response_due       timestamptz,
    ADD COLUMN resolution_due           timestamptz,
    ADD COLUMN first_response_breached  boolean NOT NULL DEFAULT false,
    ADD COLUMN resolution_breached      boolean NOT NULL DEFAULT false,
    ADD COLUMN first_responded_at       timestamptz,
    ADD COLUMN resolution               text,
    ADD COLUMN resolved_at              timestamptz,
    ADD COLUMN closed_at                timestamptz,
    ADD COLUMN close_reason             text,
    ADD COLUMN reopen_count             integer NOT NULL DEFAULT 0,
    ADD COLUMN feedback_rating          integer,
    ADD COLUMN feedback_comment         text,
    ADD COLUMN stale                    boolean NOT NULL DEFAULT false,
    ADD COLUMN search                   tsvector NOT NULL DEFAULT ''::tsvector,
    ADD COLUMN priority_rank            smallint GENERATED ALWAYS AS (
        CASE priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2
                      WHEN 'low' THEN 1 ELSE 0 END) STORED;

-- Rows projected before this migration: search what is already there.
UPDATE tickets t
SET search = to_tsvector('simple', t.subject) || coalesce(
    (SELECT to_tsvector('simple', string_agg(e.body, ' ' ORDER BY e.version))
     FROM thread_entries e WHERE e.ticket_id = t.ticket_id), ''::tsvector);

-- Lists and keyset pagination (sort key, then ticket_id as the tie-breaker).
CREATE INDEX tickets_created_idx ON tickets (created_at DESC, ticket_id);
CREATE INDEX tickets_updated_idx ON tickets (updated_at DESC, ticket_id);
CREATE INDEX tickets_priority_idx ON tickets (priority_rank DESC, created_at DESC, ticket_id);
CREATE INDEX tickets_status_department_idx
    ON tickets (status, department, created_at DESC, ticket_id);

-- Queues.
CREATE INDEX tickets_assignee_active_idx ON tickets (assignee, created_at DESC, ticket_id)
    WHERE status IN ('open', 'pending');
CREATE INDEX tickets_unassigned_idx ON tickets (created_at DESC, ticket_id)
    WHERE assignee IS NULL AND status IN ('open', 'pending');
CREATE INDEX tickets_overdue_idx ON tickets (created_at DESC, ticket_id)
    WHERE (first_response_breached OR resolution_breached) AND status IN ('open', 'pending');

-- Tag filter and full text.
CREATE INDEX tickets_tags_idx ON tickets USING gin (tags);
CREATE INDEX tickets_search_idx ON tickets USING gin (search);

-- The thread takes every kind of entry (messages, replies, notes, status changes, system
-- lines, e-mail records): thread_entries.kind is free text, constrained nowhere on purpose.
