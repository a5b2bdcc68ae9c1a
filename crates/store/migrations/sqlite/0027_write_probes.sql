-- One row that readiness rewrites while writes are failing, to learn when they go through again.
CREATE TABLE write_probes (
    id INTEGER PRIMARY KEY,
    at_us INTEGER NOT NULL
);
