"""SQLite schema of the label store. Labels keep their history; the latest row per annotator wins."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    source      TEXT,               -- what it was imported from
    created_at  REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS images (
    id          INTEGER PRIMARY KEY,
    dataset_id  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,      -- file name relative to the imported folder; unique per dataset
    path        TEXT NOT NULL,      -- the file Workbench reads (a converted copy when the original needed it)
    source      TEXT,               -- the original file, when path is a copy
    sha256      TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    mode        TEXT NOT NULL,      -- PIL mode of the original
    position    INTEGER NOT NULL,   -- file order at import
    brightness  REAL,               -- mean intensity, 0..1
    contrast    REAL,               -- std of intensity, 0..1
    blur        REAL,               -- variance of the Laplacian (low = blurry)
    inverted    REAL,               -- -corr(image, dataset mean image): high = looks colour-inverted
    UNIQUE (dataset_id, name)
);
CREATE INDEX IF NOT EXISTS images_dataset ON images(dataset_id, position);
CREATE INDEX IF NOT EXISTS images_sha ON images(dataset_id, sha256);

CREATE TABLE IF NOT EXISTS classes (
    id          INTEGER PRIMARY KEY,
    dataset_id  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    position    INTEGER NOT NULL,   -- class index used by models
    UNIQUE (dataset_id, name)
);

CREATE TABLE IF NOT EXISTS labels (
    id          INTEGER PRIMARY KEY,
    image_id    INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    class_id    INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    annotator   TEXT NOT NULL,
    created_at  REAL NOT NULL,
    source      TEXT NOT NULL DEFAULT 'typed',  -- how it was made: one of LABEL_SOURCES
    confidence  REAL                            -- the accepted suggestion's confidence, else NULL
);
CREATE INDEX IF NOT EXISTS labels_image ON labels(image_id, annotator, id);
CREATE INDEX IF NOT EXISTS labels_annotator ON labels(annotator, id);

CREATE TABLE IF NOT EXISTS tags (
    id          INTEGER PRIMARY KEY,
    dataset_id  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    UNIQUE (dataset_id, name)
);

CREATE TABLE IF NOT EXISTS image_tags (
    image_id    INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    tag_id      INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    annotator   TEXT NOT NULL,
    created_at  REAL NOT NULL,
    PRIMARY KEY (image_id, tag_id, annotator)
);

CREATE TABLE IF NOT EXISTS splits (
    dataset_id  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    seed        INTEGER NOT NULL,
    image_id    INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    split       TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
    PRIMARY KEY (dataset_id, seed, image_id)
);
"""

DEFAULT_TAGS = ("glasses", "dark", "odd angle", "inverted", "other")

# How a label was made (provenance): typed key, accepted suggestion, accepted page, bulk edit, import, review.
LABEL_SOURCES = ("typed", "accepted", "page", "bulk", "imported", "review")

# Columns added after the first release: ALTERed into stores that lack them when opened.
ADDED_COLUMNS = {"labels": (("source", "TEXT NOT NULL DEFAULT 'typed'"), ("confidence", "REAL"))}
