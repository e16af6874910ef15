"""Every view of a run, rendered from its results JSON: HTML, JUnit, OSCAL, manifest."""
