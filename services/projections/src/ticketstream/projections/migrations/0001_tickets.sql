-- The first read models: the ticket list row, its thread, and the projection checkpoint.

CREATE TABLE projection_checkpoints (
    projection  text PRIMARY KEY,
    position    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tickets (
    ticket_id        text PRIMARY KEY,
    version          integer NOT NULL,
    position         bigint NOT NULL,
    status           text NOT NULL,
    channel          text NOT NULL,
    subject          text NOT NULL,
    help_topic       text NOT NULL,
    requester_name   text NOT NULL,
    requester_email  text NOT NULL,
    priority         text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

CREATE INDEX tickets_status_created_idx ON tickets (status, created_at DESC, ticket_id);
CREATE INDEX tickets_requester_idx ON tickets (lower(requester_email));

CREATE TABLE thread_entries (
    ticket_id    text NOT NULL REFERENCES tickets (ticket_id),
    version      integer NOT NULL,
    position     bigint NOT NULL,
    event_id     text NOT NULL,
    kind         text NOT NULL,
    author_type  text NOT NULL,
    author_id    text NOT NULL,
    public       boolean NOT NULL,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, version)
);
