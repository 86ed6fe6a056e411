-- Leadership of the gateways that share this database (issue 14): one row,
-- the lease of the active gateway. expires is set from the database's clock
-- only (now() + lease), so that no gateway's clock decides; epoch grows by
-- one at every change of holder and fences out a former holder's renewals.
CREATE TABLE gateway_lease (
    id      int PRIMARY KEY CHECK (id = 1),
    node    text NOT NULL,
    epoch   bigint NOT NULL,
    expires timestamptz NOT NULL,
    renewed timestamptz NOT NULL
);
INSERT INTO gateway_lease (id, node, epoch, expires, renewed) VALUES (1, '', 0, '-infinity', '-infinity');
