-- The PostgreSQL benchmark fixture: items (:rows rows of mixed types) and orders (:rows / 5 rows, a foreign
-- key to items). Every value is derived from a hash of the row id, so a given :rows gives the same tables on
-- any machine. Run with psql -v rows=N against an empty database.
CREATE FUNCTION bench_bits(h text, at int) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT ('x' || substr(h, at, 8))::bit(32)::bigint $$;

CREATE TABLE items (
  id         bigint PRIMARY KEY,
  name       text NOT NULL,
  price      numeric(12,4),
  created_at timestamptz NOT NULL,
  attrs      jsonb,
  tags       text[],
  flag       boolean,
  payload    bytea,
  note       text
);
INSERT INTO items
SELECT g,
       (ARRAY['anchor','birch','cobalt','dune','ember','fjord','granite','harbor','indigo','juniper','kestrel','lumen'])[1 + bench_bits(a, 1) % 12]
         || ' ' || (ARRAY['bolt','crate','drum','flask','gear','hinge','lamp','mast','nozzle','pulley'])[1 + bench_bits(a, 9) % 10]
         || ' ' || bench_bits(a, 17) % 100000,
       CASE WHEN bench_bits(a, 25) % 20 = 0 THEN NULL ELSE (bench_bits(b, 1) % 100000000) / 10000.0 END,
       timestamptz '2021-01-01 00:00:00+00' + (bench_bits(b, 9) % (3 * 365 * 86400)) * interval '1 second',
       jsonb_build_object('size', bench_bits(b, 17) % 50, 'color', (ARRAY['red','green','blue','black','white'])[1 + bench_bits(b, 25) % 5],
                          'weight', (bench_bits(c, 1) % 100000) / 100.0, 'active', bench_bits(c, 9) % 2 = 0),
       (ARRAY['new','sale','bulk','fragile'])[1:(bench_bits(c, 17) % 4)],
       CASE WHEN bench_bits(c, 25) % 16 = 0 THEN NULL ELSE bench_bits(c, 25) % 3 = 0 END,
       CASE WHEN bench_bits(a, 3) % 10 = 0 THEN NULL ELSE decode(a || b || c, 'hex') END,
       CASE WHEN bench_bits(b, 5) % 10 < 3 THEN NULL ELSE 'note for item ' || g || ': ' || substr(c, 1, 16) END
FROM generate_series(1, :rows) AS g
CROSS JOIN LATERAL (SELECT md5(g::text) AS a, md5(g::text || 'b') AS b, md5(g::text || 'c') AS c) AS h;
CREATE INDEX items_created_at ON items (created_at);

CREATE TABLE orders (
  id         bigint PRIMARY KEY,
  item_id    bigint NOT NULL REFERENCES items (id),
  qty        int NOT NULL,
  ordered_at timestamptz NOT NULL,
  status     text NOT NULL,
  comment    text
);
INSERT INTO orders
SELECT g, 1 + bench_bits(o, 1) % :rows, 1 + bench_bits(o, 9) % 20,
       timestamptz '2022-01-01 00:00:00+00' + (bench_bits(o, 17) % (2 * 365 * 86400)) * interval '1 second',
       (ARRAY['new','paid','shipped','delivered','cancelled'])[1 + bench_bits(o, 25) % 5],
       CASE WHEN bench_bits(o, 4) % 10 < 7 THEN NULL ELSE 'order note ' || substr(o, 1, 12) END
FROM generate_series(1, :rows / 5) AS g
CROSS JOIN LATERAL (SELECT md5('o' || g::text) AS o) AS h;
CREATE INDEX orders_item_id ON orders (item_id);
VACUUM ANALYZE;
