-- t/malloc-programs.sql - a sqlite3 workload for t/malloc-programs-t.sh:
-- tables, indexes, 100000 rows from a recursive query, joins, grouping,
-- updates and deletes, in an in-memory database.  Deterministic output.
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, price REAL, cat INTEGER);
CREATE TABLE cat(id INTEGER PRIMARY KEY, label TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO item SELECT i, 'item-' || i || substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26),
                        (i * 37 % 1000) / 10.0, i % 50 FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49)
INSERT INTO cat SELECT i, 'category ' || i FROM n;
CREATE INDEX item_cat ON item(cat, price);
UPDATE item SET price = price * 1.1 WHERE id % 7 = 0;
DELETE FROM item WHERE id % 11 = 0;
SELECT c.label, count(*), round(sum(i.price), 2), max(length(i.name))
  FROM item i JOIN cat c ON c.id = i.cat GROUP BY c.id ORDER BY c.id LIMIT 10;
SELECT count(*), round(avg(price), 4) FROM item WHERE name LIKE '%7%';
SELECT group_concat(name, ',') FROM (SELECT name FROM item ORDER BY price DESC, id LIMIT 20);
