-- Agents as the gateway knows them beyond the directory: an admin can
-- override the extension or disable CTI for one person.
CREATE TABLE agents (
    username           text PRIMARY KEY,
    display_name       text NOT NULL DEFAULT '',
    extension_override text,
    disabled           boolean NOT NULL DEFAULT false,
    last_login         timestamptz
);

-- Sessions: only a SHA-256 of the token is stored.
CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    username     text NOT NULL REFERENCES agents (username) ON DELETE CASCADE,
    display_name text NOT NULL DEFAULT '',
    extension    text NOT NULL,
    created      timestamptz NOT NULL DEFAULT now(),
    expires      timestamptz NOT NULL,
    revoked      boolean NOT NULL DEFAULT false
);
CREATE INDEX sessions_username ON sessions (username);
CREATE INDEX sessions_expires ON sessions (expires);

-- Customers imported from the CRM, keyed by the CRM's contact code.
CREATE TABLE contacts (
    code      text PRIMARY KEY,
    full_name text NOT NULL,
    type      text NOT NULL DEFAULT '',
    fields    jsonb NOT NULL DEFAULT '{}',
    updated   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_name ON contacts (lower(full_name) text_pattern_ops);

-- Every phone number of every contact, normalised for lookup by index:
-- e164 first, national (significant digits) as the fallback.
CREATE TABLE contact_phones (
    contact_code text NOT NULL REFERENCES contacts (code) ON DELETE CASCADE,
    kind         text NOT NULL DEFAULT '',
    raw          text NOT NULL,
    e164         text,
    national     text NOT NULL DEFAULT '',
    PRIMARY KEY (contact_code, kind, raw)
);
CREATE INDEX contact_phones_e164 ON contact_phones (e164) WHERE e164 IS NOT NULL;
CREATE INDEX contact_phones_national ON contact_phones (national) WHERE national <> '';

-- The call log: one row per call per agent device, with its timeline.
CREATE TABLE calls (
    pbx_call_id  text NOT NULL,
    device       text NOT NULL,
    username     text,
    direction    text NOT NULL,
    remote       text NOT NULL DEFAULT '',
    contact_code text,
    started      timestamptz NOT NULL,
    answered     timestamptz,
    ended        timestamptz,
    outcome      text,
    timeline     jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (pbx_call_id, device)
);
CREATE INDEX calls_username_started ON calls (username, started DESC);

-- Logins, commands and denials.
CREATE TABLE audit (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    username text NOT NULL DEFAULT '',
    client   text NOT NULL DEFAULT '',
    action   text NOT NULL,
    allowed  boolean NOT NULL,
    detail   text NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);
