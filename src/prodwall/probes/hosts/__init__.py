"""The hosts family's vantage-side code and records: what a dev or test host itself says
about reaching production (name resolution, ssh trust), read there and judged here."""
