-- The catalog schema written by Kleber before organizations and accounts (schema version 2),
-- as its migrations 1 and 2 created it (crates/kleber-store/src/sqlite.rs, `migrate`).
-- Loaded by migration.rs to test the migration to version 3 on a catalog of that shape.
CREATE TABLE datasets (
  uid TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  description TEXT,
  metas TEXT NOT NULL DEFAULT '{}',
  current_version INTEGER,
  created_at TEXT NOT NULL,
  modified_at TEXT NOT NULL
);
CREATE TABLE versions (
  dataset_uid TEXT NOT NULL REFERENCES datasets(uid),
  version INTEGER NOT NULL,
  fields TEXT NOT NULL,
  records_count INTEGER NOT NULL,
  rejected_count INTEGER NOT NULL DEFAULT 0,
  source TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (dataset_uid, version)
);
PRAGMA user_version = 1;
CREATE TABLE generation (n INTEGER NOT NULL);
INSERT INTO generation VALUES (0);
PRAGMA user_version = 2;
